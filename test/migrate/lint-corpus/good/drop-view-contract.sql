-- expect: none
-- cutover:phase contract
SET lock_timeout = '5s';
DROP VIEW IF EXISTS customers;
