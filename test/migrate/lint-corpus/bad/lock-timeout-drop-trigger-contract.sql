-- expect: missing-lock-timeout
-- cutover:phase contract
DROP TRIGGER orders_copy_total ON orders;
