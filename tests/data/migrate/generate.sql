-- generate.sql - a large legacy database for scripts/bench --migrate (not
-- part of the default tests): load schema.sql first, then this file.
-- 1,000 users, 10,000 deliverables, 100 metrics with 1,000 history rows each,
-- 20,000 updates and 200,000 acknowledgements (10 per update).
BEGIN;

INSERT INTO alembic_version VALUES ('f3a9c2e1b7d4');

INSERT INTO users (id, auth0_id, email, name, role, created_at, last_login_at)
  SELECT i, 'auth0|user' || lpad(i::text, 6, '0'), 'user' || i || '@example.com',
         'User ' || i || ' Ünïcode', (ARRAY['admin','team','client'])[1 + i % 3],
         timestamptz '2025-01-01 00:00:00+00' + i * interval '1 minute',
         CASE WHEN i % 4 = 0 THEN NULL
              ELSE timestamptz '2026-01-01 00:00:00+00' + i * interval '1 second' END
  FROM generate_series(1, 1000) AS i;
SELECT setval('users_id_seq', 1000);

INSERT INTO deliverables (id, name, description, month, status, completion_percentage,
                          due_date, owner, created_at, updated_at)
  SELECT i, 'Deliverable ' || i, repeat('Description of deliverable ' || i || '. ', 4),
         1 + i % 12, (ARRAY['NOT_STARTED','IN_PROGRESS','COMPLETED','BLOCKED']::deliverable_status[])[1 + i % 4],
         (i % 10001) / 100.0, date '2026-01-01' + (i % 365), 'Owner ' || (i % 50),
         timestamptz '2025-06-01 00:00:00+00', timestamptz '2026-01-01 00:00:00+00' + i * interval '1 minute'
  FROM generate_series(1, 10000) AS i;
SELECT setval('deliverables_id_seq', 10000);

INSERT INTO metrics (id, name, description, unit, baseline_value, current_value,
                     target_value, higher_is_better, updated_at)
  SELECT i, 'Metric ' || i, 'A generated metric', 'units', i, i * 1.5, i * 2 + 0.000001,
         i % 2 = 0, timestamptz '2026-02-01 00:00:00+00'
  FROM generate_series(1, 100) AS i;
SELECT setval('metrics_id_seq', 100);

INSERT INTO metric_history (metric_id, value, recorded_at)
  SELECT m, m + h / 1000.0, timestamptz '2025-01-01 00:00:00+00' + h * interval '1 hour'
  FROM generate_series(1, 100) AS m, generate_series(1, 1000) AS h;

INSERT INTO updates (id, title, body, type, deliverable_id, author_id, created_at)
  SELECT i, 'Update ' || i, repeat('Body of update ' || i || '. ', 8),
         (ARRAY['progress','milestone','blocker','announcement'])[1 + i % 4],
         CASE WHEN i % 5 = 0 THEN NULL ELSE 1 + i % 10000 END, 1 + i % 1000,
         timestamptz '2025-01-01 00:00:00+00' + i * interval '17 minutes'
  FROM generate_series(1, 20000) AS i;
SELECT setval('updates_id_seq', 20000);

INSERT INTO update_acknowledgements (update_id, user_id, acknowledged_at)
  SELECT u, 1 + (u * 7 + k * 97) % 1000, timestamptz '2026-01-01 00:00:00+00'
  FROM generate_series(1, 20000) AS u, generate_series(0, 9) AS k;

COMMIT;
-- Settle the freshly written data (hint bits, statistics) before measuring.
VACUUM ANALYZE;
CHECKPOINT;
