-- expect: none
SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '5min';
ALTER TABLE import_buffer SET LOGGED;
