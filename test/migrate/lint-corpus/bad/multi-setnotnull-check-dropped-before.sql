-- expect: set-not-null
-- cutover:no-transaction
SET lock_timeout = '5s';
SET statement_timeout = '20min';
ALTER TABLE parcels ADD CONSTRAINT parcels_dest_nn CHECK (destination IS NOT NULL) NOT VALID;
ALTER TABLE parcels ALTER COLUMN origin SET NOT NULL;
ALTER TABLE parcels VALIDATE CONSTRAINT parcels_dest_nn;
