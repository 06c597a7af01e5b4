-- expect: none
CREATE INDEX CONCURRENTLY audit_log_created_at_idx ON audit_log (created_at);
