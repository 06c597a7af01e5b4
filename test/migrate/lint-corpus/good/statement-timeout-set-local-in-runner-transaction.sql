-- expect: none
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '5min';
-- cutover-lint-disable-next-statement rewrite-table: a staging table of a few rows
ALTER TABLE import_buffer SET LOGGED;
