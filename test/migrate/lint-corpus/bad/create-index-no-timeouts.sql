-- expect: create-index-not-concurrently, missing-lock-timeout, missing-statement-timeout
CREATE INDEX payments_created_idx ON payments (created_at DESC);
