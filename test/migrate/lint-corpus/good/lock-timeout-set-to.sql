-- expect: none
SET lock_timeout TO '3s';
ALTER TABLE inventory ADD COLUMN bin_code text;
