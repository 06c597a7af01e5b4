-- expect: unclosed-transaction
SET lock_timeout = '5s';
BEGIN;
ALTER TABLE tickets ADD COLUMN reopened_count int;
COMMIT;
BEGIN;
ALTER TABLE tickets ADD COLUMN first_reply_at timestamptz;
