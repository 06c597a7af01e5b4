-- expect: none
SET lock_timeout = '5s';
BEGIN;
ALTER TABLE reviews ADD CONSTRAINT reviews_product_fkey FOREIGN KEY (product_id) REFERENCES products (id) NOT VALID;
COMMIT;
BEGIN;
ALTER TABLE reviews VALIDATE CONSTRAINT reviews_product_fkey;
COMMIT;
