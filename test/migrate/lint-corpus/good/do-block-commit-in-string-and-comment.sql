-- expect: none
DO $do$
BEGIN
  -- COMMIT happens in the runner, not here
  RAISE NOTICE 'will COMMIT later, then ROLLBACK nothing';
END
$do$;
