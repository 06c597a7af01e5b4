-- expect: none
CREATE TABLE device_events (device_id bigint NOT NULL, payload jsonb);
ALTER TABLE device_events ADD COLUMN id bigserial;
