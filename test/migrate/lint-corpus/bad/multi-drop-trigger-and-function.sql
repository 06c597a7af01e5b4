-- expect: drop-trigger
SET lock_timeout = '5s';
DROP TRIGGER IF EXISTS carts_sync_totals ON carts;
DROP FUNCTION IF EXISTS carts_sync_totals();
