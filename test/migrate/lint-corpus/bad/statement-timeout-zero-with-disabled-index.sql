-- expect: missing-statement-timeout
SET lock_timeout = '5s';
SET statement_timeout = 0;
-- cutover-lint-disable-next-statement create-index-not-concurrently: lookup table of 40 rows
CREATE INDEX lookup_codes_code_idx ON lookup_codes (code);
