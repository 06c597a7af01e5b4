-- expect: rename-table
SET lock_timeout = '5s';
ALTER TABLE invoices RENAME TO bills;
CREATE VIEW invoices_compat AS SELECT * FROM bills;
