-- expect: create-index-not-concurrently
-- cutover:no-transaction
SET lock_timeout = '5s';
SET statement_timeout = '30min';
CREATE INDEX shipments_status_idx ON shipments (status);
