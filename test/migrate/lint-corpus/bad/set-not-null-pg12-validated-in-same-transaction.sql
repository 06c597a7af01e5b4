-- expect: add-check-not-valid
-- the check is valid before SET NOT NULL (so no scan, PostgreSQL 12+), but it was validated under the ADD's lock
SET lock_timeout = '5s';
SET statement_timeout = '20min';
ALTER TABLE members ADD CONSTRAINT members_email_nn CHECK (email IS NOT NULL) NOT VALID;
ALTER TABLE members VALIDATE CONSTRAINT members_email_nn;
ALTER TABLE members ALTER COLUMN email SET NOT NULL;
