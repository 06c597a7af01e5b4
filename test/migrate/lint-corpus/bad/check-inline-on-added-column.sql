-- expect: add-check-not-valid
SET lock_timeout = '5s';
SET statement_timeout = '20min';
ALTER TABLE products ADD COLUMN weight_g int CHECK (weight_g >= 0);
