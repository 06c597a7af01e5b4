-- expect: nested-transaction
BEGIN;
SET lock_timeout = '5s';
ALTER TABLE tickets ADD COLUMN priority int;
BEGIN;
ALTER TABLE tickets ADD COLUMN due_on date;
COMMIT;
