-- expect: create-index-not-concurrently
-- "Audit" is created here, but audit (unquoted) is another, existing table
SET lock_timeout = '5s';
SET statement_timeout = '30min';
CREATE TABLE "Audit" (id bigint PRIMARY KEY, at timestamptz);
CREATE INDEX audit_at_idx ON audit (at);
