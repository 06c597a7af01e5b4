-- expect: none
CREATE TABLE app.notes (id bigint, body text);
CREATE INDEX ON app.notes (body);
ALTER TABLE app.notes ADD CONSTRAINT notes_body_len CHECK (length(body) < 10000);
