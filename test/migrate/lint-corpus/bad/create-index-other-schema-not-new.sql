-- expect: create-index-not-concurrently
SET lock_timeout = '5s';
SET statement_timeout = '30min';
CREATE TABLE app.notes (id bigint, body text);
CREATE INDEX notes_body_idx ON other.notes (body);
