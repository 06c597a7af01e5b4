-- expect: none
SET lock_timeout = '5s';
ALTER TABLE accounts ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();
