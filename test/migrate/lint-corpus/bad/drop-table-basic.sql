-- expect: drop-table
SET lock_timeout = '5s';
DROP TABLE legacy_sessions;
