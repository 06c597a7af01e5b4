-- expect: none
DO $$
DECLARE "commit" text := 'abc123';
BEGIN
  RAISE NOTICE '%', "commit";
END
$$;
