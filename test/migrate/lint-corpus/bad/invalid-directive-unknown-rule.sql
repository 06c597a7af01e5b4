-- expect: invalid-directive
SET lock_timeout = '5s';
-- cutover-lint-disable-next-statement drop-colum: typo in the id
ALTER TABLE tickets ADD COLUMN summary text;
