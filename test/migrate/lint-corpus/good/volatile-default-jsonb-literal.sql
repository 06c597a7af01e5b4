-- expect: none
SET lock_timeout = '5s';
ALTER TABLE reports ADD COLUMN filters jsonb NOT NULL DEFAULT '{}'::jsonb;
