-- expect: rename-table
SET lock_timeout = '5s';
ALTER TABLE invoices RENAME TO bills;
