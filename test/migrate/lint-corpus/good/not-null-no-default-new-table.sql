-- expect: none
CREATE TABLE user_flags (user_id bigint);
ALTER TABLE user_flags ADD COLUMN flag text NOT NULL;
