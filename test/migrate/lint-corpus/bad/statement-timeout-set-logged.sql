-- expect: missing-statement-timeout
SET lock_timeout = '5s';
ALTER TABLE import_buffer SET LOGGED;
