-- expect: drop-trigger
SET lock_timeout = '5s';
DROP TRIGGER IF EXISTS sync_total ON shop.orders;
