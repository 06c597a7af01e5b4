-- expect: add-column-volatile-default
-- the IMMUTABLE declaration comes after the ALTER; when the ALTER runs, the function is an older, unknown one
SET lock_timeout = '5s';
SET statement_timeout = '20min';
ALTER TABLE carts ADD COLUMN policy jsonb DEFAULT cart_policy();
CREATE OR REPLACE FUNCTION cart_policy() RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$ SELECT '{}'::jsonb $$;
