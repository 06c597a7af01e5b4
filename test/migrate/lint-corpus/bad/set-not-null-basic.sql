-- expect: set-not-null
SET lock_timeout = '5s';
SET statement_timeout = '20min';
ALTER TABLE payments ALTER COLUMN currency SET NOT NULL;
