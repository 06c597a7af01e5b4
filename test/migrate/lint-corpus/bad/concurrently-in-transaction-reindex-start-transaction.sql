-- expect: concurrently-in-transaction
START TRANSACTION;
REINDEX INDEX CONCURRENTLY inventory_sku_idx;
END;
