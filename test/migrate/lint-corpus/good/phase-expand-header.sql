-- expect: none
-- cutover:phase expand
SET lock_timeout = '5s';
ALTER TABLE users ADD COLUMN nickname text;
