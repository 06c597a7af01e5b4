-- expect: none
-- cutover-lint-disable drop-column: column unused since release 12, see ADR-7
SET lock_timeout = '5s';
ALTER TABLE users DROP COLUMN legacy_flag;
