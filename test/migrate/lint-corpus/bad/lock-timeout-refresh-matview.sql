-- expect: missing-lock-timeout, missing-statement-timeout
REFRESH MATERIALIZED VIEW sales_summary;
