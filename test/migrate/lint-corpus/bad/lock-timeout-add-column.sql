-- expect: missing-lock-timeout
ALTER TABLE inventory ADD COLUMN warehouse text;
