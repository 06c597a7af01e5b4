-- expect: none
-- cutover:no-transaction
ALTER TABLE reviews VALIDATE CONSTRAINT reviews_product_fkey;
