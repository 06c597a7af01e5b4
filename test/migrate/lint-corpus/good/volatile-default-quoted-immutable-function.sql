-- expect: none
SET lock_timeout = '5s';
CREATE FUNCTION "MakeCode"() RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT 'AAA' $$;
ALTER TABLE "Vouchers" ADD COLUMN "Code" text DEFAULT "MakeCode"();
