-- expect: missing-lock-timeout
SET lock_timeout = 0;
ALTER TABLE inventory ADD COLUMN bin_code text;
