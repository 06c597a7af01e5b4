-- expect: none
-- cutover:phase contract
SET lock_timeout = '5s';
ALTER TABLE shipments ALTER COLUMN carrier DROP NOT NULL;
