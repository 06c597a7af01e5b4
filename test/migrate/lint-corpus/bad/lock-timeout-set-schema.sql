-- expect: missing-lock-timeout
ALTER TABLE staging_orders SET SCHEMA archive;
