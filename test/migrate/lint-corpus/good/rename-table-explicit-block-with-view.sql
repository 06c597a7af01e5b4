-- expect: none
SET lock_timeout = '5s';
BEGIN;
ALTER TABLE "Suppliers" RENAME TO vendors;
CREATE VIEW "Suppliers" AS SELECT * FROM vendors;
COMMIT;
