-- expect: add-column-not-null-no-default, add-unique-constraint
SET lock_timeout = '5s';
SET statement_timeout = '10min';
ALTER TABLE legacy_links ADD COLUMN link_id bigint PRIMARY KEY;
