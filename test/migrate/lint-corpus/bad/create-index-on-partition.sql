-- expect: create-index-not-concurrently
SET lock_timeout = '5s';
SET statement_timeout = '30min';
CREATE INDEX metrics_2024_ts_idx ON metrics_2024 (ts);
