-- expect: none
SET lock_timeout = '5s';
CREATE TABLE refund_notes (id bigint PRIMARY KEY, refund_id bigint REFERENCES refunds (id), body text);
