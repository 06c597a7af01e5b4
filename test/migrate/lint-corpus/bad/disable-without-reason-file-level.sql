-- expect: disable-without-reason, drop-column
-- cutover-lint-disable drop-column
SET lock_timeout = '5s';
ALTER TABLE tickets DROP COLUMN legacy_ref;
