-- expect: none
ALTER TABLE orders ALTER COLUMN status SET STATISTICS 500;
