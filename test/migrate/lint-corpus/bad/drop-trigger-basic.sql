-- expect: drop-trigger
SET lock_timeout = '5s';
DROP TRIGGER orders_copy_total ON orders;
