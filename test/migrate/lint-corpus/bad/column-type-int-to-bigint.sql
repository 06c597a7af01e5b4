-- expect: change-column-type
SET lock_timeout = '5s';
SET statement_timeout = '10min';
ALTER TABLE events ALTER COLUMN id TYPE bigint;
