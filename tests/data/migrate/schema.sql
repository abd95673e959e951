-- schema.sql - the legacy PostgreSQL schema, exactly as SPEC §9 gives it.
CREATE TYPE deliverable_status AS ENUM ('NOT_STARTED','IN_PROGRESS','COMPLETED','BLOCKED');
CREATE TABLE users (
  id SERIAL PRIMARY KEY, auth0_id VARCHAR(255) UNIQUE NOT NULL, email VARCHAR(255),
  name VARCHAR(255), role VARCHAR(20) NOT NULL DEFAULT 'client',
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(), last_login_at TIMESTAMPTZ);
CREATE TABLE deliverables (
  id SERIAL PRIMARY KEY, name VARCHAR(200) NOT NULL, description TEXT,
  month INTEGER NOT NULL, status deliverable_status NOT NULL DEFAULT 'NOT_STARTED',
  completion_percentage NUMERIC(5,2) NOT NULL DEFAULT 0, due_date DATE, owner VARCHAR(200),
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(), updated_at TIMESTAMPTZ);
CREATE TABLE metrics (
  id SERIAL PRIMARY KEY, name VARCHAR(200) NOT NULL, description TEXT, unit VARCHAR(40) NOT NULL,
  baseline_value NUMERIC NOT NULL, current_value NUMERIC NOT NULL, target_value NUMERIC NOT NULL,
  higher_is_better BOOLEAN NOT NULL DEFAULT true, updated_at TIMESTAMPTZ);
CREATE TABLE metric_history (
  id SERIAL PRIMARY KEY, metric_id INTEGER NOT NULL REFERENCES metrics(id) ON DELETE CASCADE,
  value NUMERIC NOT NULL, recorded_at TIMESTAMPTZ NOT NULL DEFAULT now());
CREATE TABLE updates (
  id SERIAL PRIMARY KEY, title VARCHAR(200) NOT NULL, body TEXT NOT NULL,
  type VARCHAR(20) NOT NULL, deliverable_id INTEGER REFERENCES deliverables(id) ON DELETE SET NULL,
  author_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now());
CREATE TABLE update_acknowledgements (
  update_id INTEGER NOT NULL REFERENCES updates(id) ON DELETE CASCADE,
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  acknowledged_at TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (update_id, user_id));
CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY);
