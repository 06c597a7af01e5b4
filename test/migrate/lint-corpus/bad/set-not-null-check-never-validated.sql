-- expect: set-not-null
-- cutover:no-transaction
SET lock_timeout = '5s';
SET statement_timeout = '20min';
ALTER TABLE orders ADD CONSTRAINT orders_channel_nn CHECK (channel IS NOT NULL) NOT VALID;
ALTER TABLE orders ALTER COLUMN channel SET NOT NULL;
