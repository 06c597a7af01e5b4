-- expect: add-column-volatile-default
SET lock_timeout = '5s';
SET statement_timeout = '15min';
CREATE OR REPLACE FUNCTION next_ref() RETURNS text
  LANGUAGE sql VOLATILE
  AS $$ SELECT 'R-' || floor(random() * 1e6)::text $$;
ALTER TABLE shipments ADD COLUMN reference text DEFAULT next_ref();
