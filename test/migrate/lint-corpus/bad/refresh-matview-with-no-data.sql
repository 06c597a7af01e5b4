-- expect: refresh-materialized-view-not-concurrently
SET lock_timeout = '5s';
SET statement_timeout = '10min';
REFRESH MATERIALIZED VIEW reporting.daily_totals WITH NO DATA;
