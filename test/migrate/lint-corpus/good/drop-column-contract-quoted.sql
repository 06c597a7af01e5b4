-- expect: none
-- cutover:phase contract
SET lock_timeout = '5s';
ALTER TABLE "Products" DROP COLUMN "OldSku", DROP COLUMN IF EXISTS weight_oz;
