-- expect: add-column-volatile-default, missing-lock-timeout, missing-statement-timeout
ALTER TABLE users ADD COLUMN token uuid DEFAULT uuid_generate_v4();
