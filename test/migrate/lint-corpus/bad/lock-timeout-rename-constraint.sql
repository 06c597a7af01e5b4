-- expect: missing-lock-timeout
ALTER TABLE orders RENAME CONSTRAINT orders_total_check TO orders_total_positive;
