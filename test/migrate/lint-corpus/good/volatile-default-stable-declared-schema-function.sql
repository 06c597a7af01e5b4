-- expect: none
SET lock_timeout = '5s';
CREATE OR REPLACE FUNCTION billing.current_plan() RETURNS text
  LANGUAGE sql STABLE
  AS $$ SELECT current_setting('billing.plan', true) $$;
ALTER TABLE billing.subscriptions ADD COLUMN plan text DEFAULT billing.current_plan();
