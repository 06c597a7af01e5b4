-- expect: commit-in-do-block
SET lock_timeout = '5s';
DO $$
DECLARE n int;
BEGIN
  LOOP
    UPDATE tickets SET priority = 3
     WHERE id IN (SELECT id FROM tickets WHERE priority IS NULL LIMIT 500);
    GET DIAGNOSTICS n = ROW_COUNT;
    EXIT WHEN n = 0;
    COMMIT;
  END LOOP;
END
$$;
