-- expect: missing-lock-timeout
-- cutover:no-transaction
SET LOCAL lock_timeout = '2s';
ALTER TABLE inventory ADD COLUMN shelf smallint;
