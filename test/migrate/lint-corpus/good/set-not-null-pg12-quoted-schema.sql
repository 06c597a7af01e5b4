-- expect: none
-- cutover:no-transaction
SET lock_timeout = '5s';
ALTER TABLE "Billing"."Accounts" ADD CONSTRAINT "Accounts_TaxId_nn" CHECK ("TaxId" IS NOT NULL) NOT VALID;
ALTER TABLE "Billing"."Accounts" VALIDATE CONSTRAINT "Accounts_TaxId_nn";
ALTER TABLE "Billing"."Accounts" ALTER COLUMN "TaxId" SET NOT NULL;
