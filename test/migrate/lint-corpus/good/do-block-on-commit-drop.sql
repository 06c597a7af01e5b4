-- expect: none
DO $$
BEGIN
  CREATE TEMP TABLE tmp_ids (id bigint) ON COMMIT DROP;
  INSERT INTO tmp_ids SELECT id FROM tickets WHERE priority IS NULL;
END
$$;
