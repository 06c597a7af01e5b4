-- expect: drop-index-not-concurrently
SET lock_timeout = '5s';
DROP INDEX IF EXISTS app.users_email_idx;
