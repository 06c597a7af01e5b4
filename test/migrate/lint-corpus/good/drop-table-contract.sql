-- expect: none
-- cutover:phase contract
SET lock_timeout = '5s';
DROP TABLE legacy_sessions;
