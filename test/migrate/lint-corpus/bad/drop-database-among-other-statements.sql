-- expect: drop-database
SET lock_timeout = '5s';
ALTER TABLE widgets ADD COLUMN colour text;
DROP DATABASE scratch;
