-- expect: none
CREATE INDEX CONCURRENTLY metrics_2024_ts_idx ON metrics_2024 (ts);
