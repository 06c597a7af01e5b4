-- expect: none
CREATE TABLE coupons_import (code varchar(20), amount int);
ALTER TABLE coupons_import ALTER COLUMN amount TYPE numeric(10, 2);
