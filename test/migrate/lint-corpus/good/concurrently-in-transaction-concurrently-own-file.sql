-- expect: none
CREATE INDEX CONCURRENTLY inventory_sku_idx ON inventory (sku);
