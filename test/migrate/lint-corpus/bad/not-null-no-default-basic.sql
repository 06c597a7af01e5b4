-- expect: add-column-not-null-no-default
SET lock_timeout = '5s';
SET statement_timeout = '10min';
ALTER TABLE users ADD COLUMN country_code char(2) NOT NULL;
