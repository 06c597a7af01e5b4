-- expect: none
-- cutover:no-transaction
DO $$
DECLARE n int;
BEGIN
  LOOP
    UPDATE tickets SET priority = 3
     WHERE id IN (SELECT id FROM tickets WHERE priority IS NULL LIMIT 1000);
    GET DIAGNOSTICS n = ROW_COUNT;
    EXIT WHEN n = 0;
    COMMIT;
  END LOOP;
END
$$;
