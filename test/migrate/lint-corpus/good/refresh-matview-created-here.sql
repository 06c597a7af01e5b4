-- expect: none
SET lock_timeout = '5s';
CREATE MATERIALIZED VIEW order_counts AS SELECT 1 AS n WITH NO DATA;
REFRESH MATERIALIZED VIEW order_counts;
