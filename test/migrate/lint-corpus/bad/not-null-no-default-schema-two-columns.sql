-- expect: add-column-not-null-no-default
SET lock_timeout = '5s';
SET statement_timeout = '10min';
ALTER TABLE sales.leads ADD COLUMN source text NOT NULL, ADD COLUMN score int DEFAULT 0;
