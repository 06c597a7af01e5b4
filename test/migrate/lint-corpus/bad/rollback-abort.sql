-- expect: rollback-in-migration
BEGIN;
SET lock_timeout = '5s';
ALTER TABLE tickets ADD COLUMN mood text;
ABORT;
