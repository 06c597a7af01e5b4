-- expect: none
SET lock_timeout = '5s';
SET statement_timeout = '10min';
REFRESH MATERIALIZED VIEW CONCURRENTLY monthly_revenue;
