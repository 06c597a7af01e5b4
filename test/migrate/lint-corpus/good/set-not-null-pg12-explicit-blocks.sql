-- expect: none
SET lock_timeout = '5s';
BEGIN;
ALTER TABLE members ADD CONSTRAINT members_email_nn CHECK (email IS NOT NULL) NOT VALID;
COMMIT;
BEGIN;
ALTER TABLE members VALIDATE CONSTRAINT members_email_nn;
COMMIT;
ALTER TABLE members ALTER COLUMN email SET NOT NULL;
