-- expect: add-column-volatile-default
SET lock_timeout = '5s';
SET statement_timeout = '10min';
ALTER TABLE coupons ADD COLUMN code text DEFAULT substr(md5(random()::text), 1, 8);
