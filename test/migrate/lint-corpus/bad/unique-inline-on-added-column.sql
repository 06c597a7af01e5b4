-- expect: add-unique-constraint
SET lock_timeout = '5s';
SET statement_timeout = '20min';
ALTER TABLE users ADD COLUMN handle text UNIQUE;
