-- expect: add-foreign-key-not-valid
SET lock_timeout = '5s';
SET statement_timeout = '20min';
ALTER TABLE comments ADD COLUMN post_id bigint REFERENCES posts (id);
