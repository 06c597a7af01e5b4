-- expect: none
SET lock_timeout = '5s';
ALTER TABLE accounts ADD COLUMN updated_at timestamp with time zone DEFAULT CURRENT_TIMESTAMP;
