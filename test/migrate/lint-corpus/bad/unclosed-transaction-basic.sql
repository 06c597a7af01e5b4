-- expect: unclosed-transaction
BEGIN;
SET lock_timeout = '5s';
ALTER TABLE tickets ADD COLUMN closed_at timestamptz;
