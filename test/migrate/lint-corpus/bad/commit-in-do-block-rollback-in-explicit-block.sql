-- expect: commit-in-do-block
BEGIN;
DO $$
BEGIN
  DELETE FROM sessions WHERE expires_at < now() - interval '90 days';
  ROLLBACK;
END
$$;
COMMIT;
