-- expect: commit-without-begin
SET lock_timeout = '5s';
BEGIN;
ALTER TABLE vendors ADD COLUMN vat_id text;
COMMIT;
COMMIT;
