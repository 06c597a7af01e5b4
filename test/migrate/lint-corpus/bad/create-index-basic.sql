-- expect: create-index-not-concurrently
SET lock_timeout = '5s';
SET statement_timeout = '30min';
CREATE INDEX orders_customer_idx ON orders (customer_id);
