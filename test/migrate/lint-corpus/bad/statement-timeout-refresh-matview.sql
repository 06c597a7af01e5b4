-- expect: missing-statement-timeout
SET lock_timeout = '5s';
REFRESH MATERIALIZED VIEW CONCURRENTLY monthly_revenue;
