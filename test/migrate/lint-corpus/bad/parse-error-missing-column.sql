-- expect: parse-error
SET lock_timeout = '5s';
ALTER TABLE tickets ADD COLUMN;
