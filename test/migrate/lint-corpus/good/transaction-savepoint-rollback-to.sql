-- expect: none
BEGIN;
SET LOCAL lock_timeout = '5s';
ALTER TABLE tickets ADD COLUMN labels text[];
SAVEPOINT before_backfill;
UPDATE tickets SET labels = '{}' WHERE labels IS NULL;
ROLLBACK TO SAVEPOINT before_backfill;
COMMIT;
