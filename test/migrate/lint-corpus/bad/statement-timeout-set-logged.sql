-- expect: missing-statement-timeout
SET lock_timeout = '5s';
-- cutover-lint-disable-next-statement rewrite-table: a staging table of a few rows
ALTER TABLE import_buffer SET LOGGED;
