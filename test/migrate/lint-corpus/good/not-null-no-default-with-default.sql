-- expect: none
SET lock_timeout = '5s';
ALTER TABLE users ADD COLUMN login_count integer NOT NULL DEFAULT 0;
