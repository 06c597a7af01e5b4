-- expect: none
SET lock_timeout = '5s';
ALTER TABLE documents ADD COLUMN created_by name NOT NULL DEFAULT current_user;
