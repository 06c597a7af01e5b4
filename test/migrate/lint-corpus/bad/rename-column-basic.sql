-- expect: rename-column
SET lock_timeout = '5s';
ALTER TABLE customers RENAME COLUMN phone TO phone_number;
