-- expect: missing-statement-timeout
-- cutover:no-transaction
SET lock_timeout = '5s';
SET LOCAL statement_timeout = '5min';
ALTER TABLE import_buffer SET UNLOGGED;
