-- expect: none
SET lock_timeout = '5s';
ALTER TABLE reports ADD COLUMN period_start timestamptz DEFAULT date_trunc('month', now());
