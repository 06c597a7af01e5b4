-- expect: none
SET lock_timeout = '5s';
ALTER TABLE devices ADD COLUMN pairing_code uuid;
ALTER TABLE devices ALTER COLUMN pairing_code SET DEFAULT gen_random_uuid();
