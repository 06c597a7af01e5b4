-- expect: drop-column, change-column-type
SET lock_timeout = '5s';
SET statement_timeout = '30min';
ALTER TABLE "Inventory"."StockItems" DROP COLUMN "LegacyCode";
ALTER TABLE "Inventory"."StockItems" ALTER COLUMN "Qty" TYPE bigint;
