-- legacy.sql - a legacy data set for tests/migrate/migrate.sh (load after
-- schema.sql). Edge cases: unicode, NULL in every nullable column, NUMERIC
-- with 20+ digits and 6 decimals, times in other offsets and with fractions,
-- a metric with more than 100 history points, an update whose author was
-- deleted, one read by many users, and rows of every kind the new model
-- refuses. The expected items are expected.jsonl.
BEGIN;

INSERT INTO alembic_version VALUES ('f3a9c2e1b7d4');

-- users 1..6 by hand, 7..46 readers.
INSERT INTO users (id, auth0_id, email, name, role, created_at, last_login_at) VALUES
  (1, 'auth0|alice', 'alice@example.com', 'Alice Ærøskøbing', 'admin',
      '2025-06-01 10:00:00+02', '2026-01-30 17:00:00.999+00'),
  (2, 'auth0|bob', NULL, NULL, 'team', '2025-06-02 08:00:00+00', NULL),
  (3, 'google-oauth2|1234567890', 'zoë@exämple.org', '王小明 🚀', 'client',
      '2025-06-03 23:30:00-05', '2026-01-01 00:00:00+00'),
  (4, 'auth0|gone', 'gone@example.com', 'Deleted Author', 'team',
      '2025-06-04 00:00:00+00', NULL),
  (5, 'auth0|root', 'root@example.com', 'Bad Role', 'superuser',
      '2025-06-05 00:00:00+00', NULL),
  (6, 'auth0|carol', 'carol@example.com', 'Carol "CJ" O''Neil', 'team',
      '2025-06-06 12:34:56.5+00', '2026-02-02 02:02:02+00');
INSERT INTO users (id, auth0_id, email, name, role, created_at)
  SELECT i, 'auth0|reader' || lpad(i::text, 2, '0'), 'reader' || i || '@example.com',
         'Reader ' || i, 'client', timestamptz '2025-07-01 00:00:00+00' + i * interval '1 hour'
  FROM generate_series(7, 46) AS i;
SELECT setval('users_id_seq', 46);

INSERT INTO deliverables (id, name, description, month, status, completion_percentage,
                          due_date, owner, created_at, updated_at) VALUES
  (1, 'Portal – phase 1 ✓', 'Ünïcode description with "quotes" and a tab	here',
      1, 'COMPLETED', 100.00, '2026-01-31', 'Ops team', '2025-12-01 00:00:00+00',
      '2026-01-31 18:00:00.75+01'),
  (2, 'Bare deliverable', NULL, 2, 'NOT_STARTED', 0, NULL, NULL,
      '2025-12-01 00:00:00+00', NULL),
  (3, 'Half way', 'Progress 80.00 keeps its value', 3, 'IN_PROGRESS', 80.00, '2026-03-31',
      'Alice', '2025-12-01 00:00:00+00', '2026-02-15 09:00:00+00'),
  (4, 'Blocked on legal', '', 2, 'BLOCKED', 12.50, '2026-02-28', '',
      '2025-12-01 00:00:00+00', '2026-02-01 00:00:00+00'),
  (5, 'Month zero', 'refused: month < 1', 0, 'NOT_STARTED', 0, NULL, NULL,
      '2025-12-01 00:00:00+00', NULL),
  (6, 'Over-complete', 'refused: percentage > 100', 2, 'COMPLETED', 150.00, NULL, NULL,
      '2025-12-01 00:00:00+00', NULL),
  (7, 'Negative', 'refused: percentage < 0', 2, 'IN_PROGRESS', -0.01, NULL, NULL,
      '2025-12-01 00:00:00+00', NULL),
  (8, 'Removed', 'deleted below: its update keeps no deliverable_id', 1, 'NOT_STARTED', 0,
      NULL, NULL, '2025-12-01 00:00:00+00', NULL);
SELECT setval('deliverables_id_seq', 8);

INSERT INTO metrics (id, name, description, unit, baseline_value, current_value,
                     target_value, higher_is_better, updated_at) VALUES
  (1, 'Revenue', 'Big exact numbers', 'EUR', 12345678901234567890.123456,
      98765432109876543210.654321, 100000000000000000000.000001, true,
      '2026-02-01 12:00:00+00'),
  (2, 'Latency p99', NULL, 'ms', 250.000000, 180.5, 100, false, NULL),
  (3, 'Uptime', 'More than 100 history points', '%', 99.0, 99.95, 99.99, true,
      '2026-03-01 00:00:00+00'),
  (4, 'Too precise', 'refused: 40 significant digits', 'x',
      1, 1234567890.123456789012345678901234567890, 2, true, NULL),
  (5, 'Tiny history', 'refused: a kept history value DynamoDB cannot hold', 'x',
      1, 2, 3, true, NULL),
  (6, 'Old history only', 'an unholdable value among the dropped points is fine', 'x',
      0, 0, 10, true, NULL);
SELECT setval('metrics_id_seq', 6);

INSERT INTO metric_history (metric_id, value, recorded_at) VALUES
  (1, 12345678901234567890.123456, '2026-01-01 00:00:00+00'),
  (1, 98765432109876543210.654321, '2026-01-15 12:00:00.5+03');
-- Uptime: 150 points, oldest first; the newest 100 (51..150) are kept.
INSERT INTO metric_history (metric_id, value, recorded_at)
  SELECT 3, 99 + i / 1000.0, timestamptz '2026-01-01 00:00:00+00' + i * interval '1 hour'
  FROM generate_series(1, 150) AS i;
INSERT INTO metric_history (metric_id, value, recorded_at) VALUES
  (5, 1, '2026-01-01 00:00:00+00'),
  (5, 0.1234567890123456789012345678901234567891, '2026-01-02 00:00:00+00');
-- Metric 6: an unholdable point, then 100 newer ones: it is dropped, not refused.
INSERT INTO metric_history (metric_id, value, recorded_at) VALUES
  (6, 1234567890.123456789012345678901234567890, '2025-01-01 00:00:00+00');
INSERT INTO metric_history (metric_id, value, recorded_at)
  SELECT 6, i, timestamptz '2026-01-01 00:00:00+00' + i * interval '1 day'
  FROM generate_series(1, 100) AS i;

INSERT INTO updates (id, title, body, type, deliverable_id, author_id, created_at) VALUES
  (1, 'Kick-off 🚀', 'Multi-line
body with ünïcode and "quotes"', 'milestone', 1, 1, '2026-01-05 10:00:00.75+02'),
  (2, 'Read by everyone', 'Forty readers', 'announcement', NULL, 6, '2026-01-06 09:00:00+00'),
  (3, 'Author left', 'The author was deleted', 'blocker', 3, 4, '2026-01-07 09:00:00+00'),
  (4, 'Unread', 'Nobody read this one', 'progress', 2, 2, '2026-01-08 09:00:00+00'),
  (5, 'Gossip', 'refused: type outside the enum', 'gossip', NULL, 1, '2026-01-09 09:00:00+00'),
  (6, 'Same second', 'Same created_at as 7: ids differ by the legacy id', 'progress', 8, 3,
      '2026-01-10 09:00:00+00'),
  (7, 'Same second too', 'See 6', 'progress', 3, 3, '2026-01-10 09:00:00+00');
-- Many more, so the updates take several write batches.
INSERT INTO updates (id, title, body, type, deliverable_id, author_id, created_at)
  SELECT i, 'Weekly note ' || i, 'Body of note ' || i,
         (ARRAY['progress','milestone','blocker','announcement'])[1 + i % 4],
         CASE WHEN i % 3 = 0 THEN NULL ELSE 1 + i % 4 END, 1 + i % 3,
         timestamptz '2026-02-01 08:00:00+00' + i * interval '1 day 1 second'
  FROM generate_series(8, 130) AS i;
SELECT setval('updates_id_seq', 130);

INSERT INTO update_acknowledgements (update_id, user_id, acknowledged_at) VALUES
  (1, 1, '2026-01-05 11:00:00+00'), (1, 3, '2026-01-05 12:00:00+00'),
  (3, 2, '2026-01-07 10:00:00+00'), (3, 4, '2026-01-07 10:00:00+00'),
  (5, 1, '2026-01-09 10:00:00+00'), (7, 6, '2026-01-10 10:00:00+00');
INSERT INTO update_acknowledgements (update_id, user_id)
  SELECT 2, i FROM generate_series(7, 46) AS i;
INSERT INTO update_acknowledgements (update_id, user_id)
  SELECT u, 1 + u % 6 FROM generate_series(8, 130, 2) AS u;

-- The author of update 3 leaves: author_id becomes NULL, their
-- acknowledgement goes. Deliverable 8 goes: update 6 loses its deliverable_id.
DELETE FROM users WHERE id = 4;
DELETE FROM deliverables WHERE id = 8;

COMMIT;
