-- expect: refresh-materialized-view-not-concurrently, missing-lock-timeout, missing-statement-timeout
REFRESH MATERIALIZED VIEW sales_summary;
