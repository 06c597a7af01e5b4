-- expect: none
-- cutover:no-transaction
CREATE INDEX CONCURRENTLY shipments_status_idx ON shipments (status);
CREATE INDEX CONCURRENTLY shipments_eta_idx ON shipments (eta) WHERE delivered_at IS NULL;
