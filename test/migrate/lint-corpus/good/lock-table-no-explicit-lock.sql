-- expect: none
SET lock_timeout = '5s';
UPDATE inventory SET reserved = 0 WHERE reserved IS NULL;
