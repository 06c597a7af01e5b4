-- expect: none
-- cutover:no-transaction
SET lock_timeout = '5s';
ALTER TABLE parcels ADD CONSTRAINT parcels_origin_nn CHECK ((origin IS NOT NULL)) NOT VALID;
ALTER TABLE parcels VALIDATE CONSTRAINT parcels_origin_nn;
ALTER TABLE parcels ALTER origin SET NOT NULL;
