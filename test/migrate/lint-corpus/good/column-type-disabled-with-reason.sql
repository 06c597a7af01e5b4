-- expect: none
SET lock_timeout = '5s'; SET statement_timeout = '1min';
-- cutover-lint-disable-next-statement change-column-type: varchar(64) to varchar(128) needs no rewrite
ALTER TABLE coupons ALTER COLUMN code TYPE varchar(128);
