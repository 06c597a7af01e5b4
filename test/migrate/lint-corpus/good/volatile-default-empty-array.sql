-- expect: none
SET lock_timeout = '5s';
ALTER TABLE reports ADD COLUMN recipients text[] NOT NULL DEFAULT ARRAY[]::text[];
