-- expect: none
CREATE TABLE webhooks (id bigint PRIMARY KEY, url text NOT NULL, owner_id bigint);
CREATE INDEX webhooks_owner_idx ON webhooks (owner_id);
CREATE UNIQUE INDEX webhooks_url_key ON webhooks (url);
