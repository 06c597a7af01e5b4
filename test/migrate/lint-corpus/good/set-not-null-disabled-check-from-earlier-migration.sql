-- expect: none
SET lock_timeout = '5s';
SET statement_timeout = '1min';
-- cutover-lint-disable-next-statement set-not-null: 0057_members_email_check.sql added and validated CHECK (email IS NOT NULL)
ALTER TABLE members ALTER COLUMN email SET NOT NULL;
