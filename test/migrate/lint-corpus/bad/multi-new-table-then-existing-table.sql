-- expect: add-foreign-key-not-valid
SET lock_timeout = '5s';
SET statement_timeout = '20min';
CREATE TABLE vouchers (id bigint PRIMARY KEY, vendor_id bigint);
ALTER TABLE vouchers ADD CONSTRAINT vouchers_vendor_fkey FOREIGN KEY (vendor_id) REFERENCES vendors (id);
ALTER TABLE vendors ADD CONSTRAINT vendors_default_voucher_fkey FOREIGN KEY (default_voucher_id) REFERENCES vouchers (id);
