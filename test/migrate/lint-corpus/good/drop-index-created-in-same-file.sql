-- expect: none
CREATE TABLE scratch_pad (id bigint, note text);
CREATE INDEX scratch_pad_note_idx ON scratch_pad (note);
DROP INDEX scratch_pad_note_idx;
