-- expect: drop-not-null
-- cutover:phase expand
SET lock_timeout = '5s';
ALTER TABLE profiles ALTER COLUMN bio DROP NOT NULL;
