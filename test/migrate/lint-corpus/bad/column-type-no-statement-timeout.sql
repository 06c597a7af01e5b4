-- expect: change-column-type, missing-statement-timeout
SET lock_timeout = '5s';
ALTER TABLE notes ALTER COLUMN body TYPE text;
