-- expect: drop-column
SET lock_timeout = '5s';
ALTER TABLE users DROP COLUMN IF EXISTS legacy_flag CASCADE;
