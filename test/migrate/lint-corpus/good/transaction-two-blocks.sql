-- expect: none
SET lock_timeout = '5s';
BEGIN;
ALTER TABLE tickets ADD COLUMN priority int;
COMMIT;
BEGIN;
ALTER TABLE tickets ADD COLUMN due_on date;
COMMIT;
