-- expect: drop-column
SET lock_timeout = '5s';
ALTER TABLE "Products" DROP COLUMN "OldSku", DROP COLUMN weight_oz;
