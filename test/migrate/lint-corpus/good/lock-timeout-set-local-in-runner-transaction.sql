-- expect: none
SET LOCAL lock_timeout = '2s';
ALTER TABLE inventory ADD COLUMN warehouse text;
