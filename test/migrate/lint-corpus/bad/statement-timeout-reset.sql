-- expect: missing-statement-timeout
SET lock_timeout = '5s';
SET statement_timeout = '5min';
RESET statement_timeout;
ALTER TABLE import_buffer SET LOGGED;
