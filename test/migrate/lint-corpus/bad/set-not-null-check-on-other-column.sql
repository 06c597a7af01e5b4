-- expect: add-check-not-valid, set-not-null
SET lock_timeout = '5s';
SET statement_timeout = '20min';
ALTER TABLE orders ADD CONSTRAINT orders_channel_nn CHECK (channel IS NOT NULL);
ALTER TABLE orders ALTER COLUMN region SET NOT NULL;
