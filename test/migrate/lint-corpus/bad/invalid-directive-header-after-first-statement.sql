-- expect: invalid-directive
SET lock_timeout = '5s';
ALTER TABLE tickets ADD COLUMN summary text;
-- cutover:no-transaction
ALTER TABLE tickets ADD COLUMN details text;
