-- expect: add-column-volatile-default
SET lock_timeout = '5s';
SET statement_timeout = '20min';
CREATE TABLE api_tokens (id bigint PRIMARY KEY);
ALTER TABLE api_tokens ADD COLUMN secret uuid DEFAULT gen_random_uuid();
ALTER TABLE api_clients ADD COLUMN secret uuid DEFAULT gen_random_uuid();
