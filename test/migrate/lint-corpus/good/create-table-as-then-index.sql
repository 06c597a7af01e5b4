-- expect: none
CREATE TABLE order_totals AS SELECT customer_id, sum(total) AS total FROM orders GROUP BY customer_id;
CREATE INDEX order_totals_customer_idx ON order_totals (customer_id);
