-- expect: rename-column
SET lock_timeout = '5s';
ALTER TABLE IF EXISTS app.users RENAME COLUMN login TO username;
