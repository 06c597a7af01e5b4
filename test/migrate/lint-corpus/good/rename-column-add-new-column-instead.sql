-- expect: none
SET lock_timeout = '5s';
ALTER TABLE customers ADD COLUMN phone_number text;
