-- expect: create-index-not-concurrently
SET lock_timeout = '5s';
SET statement_timeout = '30min';
CREATE INDEX measurements_recorded_idx ON measurements (recorded_at);
