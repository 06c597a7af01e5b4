-- expect: none
SET lock_timeout = '5s';
SET statement_timeout = '1min';
-- cutover-lint-disable-next-statement create-index-not-concurrently: lookup table with 12 rows
CREATE INDEX countries_iso_idx ON countries (iso_code);
