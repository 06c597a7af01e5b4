-- expect: change-column-type
SET lock_timeout = '5s';
SET statement_timeout = '10min';
ALTER TABLE payments ALTER COLUMN amount SET DATA TYPE numeric(12, 2) USING amount::numeric;
