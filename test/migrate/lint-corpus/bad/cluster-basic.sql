-- expect: cluster
SET lock_timeout = '5s';
SET statement_timeout = '1h';
CLUSTER audit_log USING audit_log_created_at_idx;
