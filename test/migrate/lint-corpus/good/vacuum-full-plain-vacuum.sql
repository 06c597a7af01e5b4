-- expect: none
VACUUM (ANALYZE) audit_log;
