-- expect: commit-without-begin
SET lock_timeout = '5s';
ALTER TABLE tickets ADD COLUMN source text;
ALTER TABLE tickets ADD COLUMN channel text;
COMMIT;
