-- expect: add-column-volatile-default
SET lock_timeout = '5s';
SET statement_timeout = '15min';
CREATE FUNCTION tenant_default_settings() RETURNS jsonb LANGUAGE plpgsql AS $fn$
BEGIN
  RETURN jsonb_build_object('theme', 'light');
END
$fn$;
ALTER TABLE tenants ADD COLUMN settings jsonb NOT NULL DEFAULT tenant_default_settings();
