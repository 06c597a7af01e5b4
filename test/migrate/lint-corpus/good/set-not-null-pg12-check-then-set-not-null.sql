-- expect: none
-- PostgreSQL 12+: SET NOT NULL sees the validated check and skips its scan
-- cutover:no-transaction
SET lock_timeout = '5s';
ALTER TABLE payments ADD CONSTRAINT payments_currency_nn CHECK (currency IS NOT NULL) NOT VALID;
ALTER TABLE payments VALIDATE CONSTRAINT payments_currency_nn;
ALTER TABLE payments ALTER COLUMN currency SET NOT NULL;
ALTER TABLE payments DROP CONSTRAINT payments_currency_nn;
