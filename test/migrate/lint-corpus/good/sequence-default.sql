-- expect: none
SET lock_timeout = '5s';
CREATE SEQUENCE invoice_no_seq START 1000;
ALTER TABLE invoices ALTER COLUMN number SET DEFAULT nextval('invoice_no_seq');
