-- expect: none
SET lock_timeout = '5s';
CREATE FUNCTION default_quota() RETURNS integer LANGUAGE sql IMMUTABLE AS $$ SELECT 100 $$;
ALTER TABLE accounts ADD COLUMN quota integer DEFAULT default_quota();
