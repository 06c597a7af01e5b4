-- expect: none
SET lock_timeout = 4000;
ALTER TABLE inventory ADD COLUMN aisle smallint;
