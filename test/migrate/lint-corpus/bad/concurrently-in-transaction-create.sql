-- expect: concurrently-in-transaction
BEGIN;
CREATE INDEX CONCURRENTLY inventory_sku_idx ON inventory (sku);
COMMIT;
