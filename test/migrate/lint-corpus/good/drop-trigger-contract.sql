-- expect: none
-- cutover:phase contract
SET lock_timeout = '5s';
DROP TRIGGER IF EXISTS orders_copy_total ON orders;
