-- expect: none
-- cutover:no-transaction
SET lock_timeout = '5s';
ALTER TABLE users ADD COLUMN pronouns text;
INSERT INTO feature_flags (name, enabled) VALUES ('pronouns', false);
