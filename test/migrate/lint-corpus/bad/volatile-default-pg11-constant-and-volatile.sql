-- expect: add-column-volatile-default
-- PostgreSQL 11+: the constant default is instant, the volatile one still rewrites
SET lock_timeout = '5s';
SET statement_timeout = '10min';
ALTER TABLE sessions ADD COLUMN attempts int NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN touched_at timestamptz DEFAULT clock_timestamp();
