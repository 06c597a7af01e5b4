-- expect: none
SET lock_timeout = '5s';
BEGIN;
ALTER TABLE tickets ADD COLUMN assignee_id bigint;
COMMIT;
CREATE INDEX CONCURRENTLY tickets_assignee_idx ON tickets (assignee_id);
