-- expect: none
-- cutover:phase contract
SET lock_timeout = '5s';
DROP TABLE staging.raw_events;
DROP SCHEMA staging;
