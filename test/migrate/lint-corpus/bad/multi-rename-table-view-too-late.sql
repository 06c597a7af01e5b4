-- expect: rename-table
SET lock_timeout = '5s';
BEGIN;
ALTER TABLE coupons RENAME TO promotions;
COMMIT;
CREATE VIEW coupons AS SELECT * FROM promotions;
