-- expect: invalid-directive
-- cutover:phase cleanup
SET lock_timeout = '5s';
ALTER TABLE tickets ADD COLUMN summary text;
