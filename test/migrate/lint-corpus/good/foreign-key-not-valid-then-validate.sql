-- expect: none
-- cutover:no-transaction
SET lock_timeout = '5s';
ALTER TABLE payments ADD CONSTRAINT payments_invoice_fkey FOREIGN KEY (invoice_id) REFERENCES invoices (id) NOT VALID;
ALTER TABLE payments VALIDATE CONSTRAINT payments_invoice_fkey;
