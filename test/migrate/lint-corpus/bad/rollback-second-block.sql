-- expect: rollback-in-migration
SET lock_timeout = '5s';
BEGIN;
ALTER TABLE tickets ADD COLUMN team text;
COMMIT;
BEGIN;
ALTER TABLE tickets ADD COLUMN queue text;
ROLLBACK;
