-- expect: add-foreign-key-not-valid
SET lock_timeout = '5s';
SET statement_timeout = '20min';
ALTER TABLE payments ADD CONSTRAINT payments_invoice_fkey FOREIGN KEY (invoice_id) REFERENCES invoices (id);
