-- expect: add-check-not-valid, set-not-null
SET lock_timeout = '5s';
SET statement_timeout = '20min';
ALTER TABLE invoices ADD CONSTRAINT invoices_currency_nn CHECK (currency IS NOT NULL);
ALTER TABLE refunds ALTER COLUMN currency SET NOT NULL;
