-- expect: missing-lock-timeout
SET lock_timeout = '1s';
RESET ALL;
ALTER TABLE inventory ADD COLUMN supplier text;
