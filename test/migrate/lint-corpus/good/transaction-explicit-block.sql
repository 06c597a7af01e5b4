-- expect: none
BEGIN;
SET LOCAL lock_timeout = '5s';
ALTER TABLE tickets ADD COLUMN priority int;
COMMIT;
