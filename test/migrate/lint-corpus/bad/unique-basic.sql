-- expect: add-unique-constraint
SET lock_timeout = '5s';
SET statement_timeout = '20min';
ALTER TABLE customers ADD CONSTRAINT customers_email_key UNIQUE (email);
