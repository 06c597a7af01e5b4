-- expect: none
SET lock_timeout = '5s';
ALTER TABLE staging_orders SET SCHEMA archive;
