-- expect: commit-without-begin
SET lock_timeout = '5s';
ALTER TABLE tickets ADD COLUMN locale text;
ROLLBACK;
