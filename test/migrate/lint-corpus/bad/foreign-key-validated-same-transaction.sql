-- expect: add-foreign-key-not-valid
SET lock_timeout = '5s';
SET statement_timeout = '20min';
ALTER TABLE reviews ADD CONSTRAINT reviews_product_fkey
  FOREIGN KEY (product_id) REFERENCES products (id) NOT VALID;
ALTER TABLE reviews VALIDATE CONSTRAINT reviews_product_fkey;
