-- expect: concurrently-in-transaction
BEGIN;
DROP INDEX CONCURRENTLY inventory_sku_idx;
COMMIT;
