-- expect: add-check-not-valid
SET lock_timeout = '5s';
SET statement_timeout = '20min';
ALTER TABLE products ADD CONSTRAINT products_price_check CHECK (price >= 0) NOT VALID;
ALTER TABLE products VALIDATE CONSTRAINT products_price_check;
