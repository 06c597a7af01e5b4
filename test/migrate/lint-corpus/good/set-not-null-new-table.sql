-- expect: none
CREATE TABLE invites (id bigint, email text);
ALTER TABLE invites ALTER COLUMN email SET NOT NULL;
