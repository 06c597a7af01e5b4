-- expect: missing-statement-timeout
SET lock_timeout = '5s';
-- cutover-lint-disable-next-statement change-column-type: varchar(80) to text, no rewrite
ALTER TABLE inventory ALTER COLUMN label TYPE text;
