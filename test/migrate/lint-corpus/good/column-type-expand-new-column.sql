-- expect: none
SET lock_timeout = '5s';
ALTER TABLE coupons ADD COLUMN amount_cents bigint;
