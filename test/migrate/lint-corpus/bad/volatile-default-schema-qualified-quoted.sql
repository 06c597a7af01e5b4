-- expect: add-column-volatile-default
SET lock_timeout = '4s'; SET statement_timeout = '1h';
ALTER TABLE "Billing"."Invoices"
  ADD COLUMN "Meta" jsonb DEFAULT billing.default_meta();
