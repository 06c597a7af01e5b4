-- expect: missing-lock-timeout
SET lock_timeout = '2s';
RESET lock_timeout;
ALTER TABLE inventory ADD COLUMN aisle smallint;
