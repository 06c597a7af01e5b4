-- expect: none
CREATE TABLE staging_products (sku text, scratch text);
ALTER TABLE staging_products DROP COLUMN scratch;
