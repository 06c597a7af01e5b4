-- expect: disable-without-reason, change-column-type
SET lock_timeout = '5s';
SET statement_timeout = '5min';
-- cutover-lint-disable-next-statement change-column-type
ALTER TABLE tickets ALTER COLUMN title TYPE text;
