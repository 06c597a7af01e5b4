-- expect: rename-column
SET lock_timeout = '5s';
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_type WHERE typname = 'ticket_state') THEN
    CREATE TYPE ticket_state AS ENUM ('open', 'closed');
  END IF;
END
$$;
ALTER TABLE tickets RENAME COLUMN state TO legacy_state;
