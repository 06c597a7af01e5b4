-- expect: nested-transaction, commit-without-begin
BEGIN;
SET lock_timeout = '5s';
ALTER TABLE tickets ADD COLUMN assignee_id bigint;
START TRANSACTION;
ALTER TABLE tickets ADD COLUMN estimate interval;
COMMIT;
COMMIT;
