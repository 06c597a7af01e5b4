-- expect: add-check-not-valid
SET lock_timeout = '5s';
SET statement_timeout = '20min';
ALTER TABLE payments ADD CONSTRAINT payments_amount_positive CHECK (amount > 0);
