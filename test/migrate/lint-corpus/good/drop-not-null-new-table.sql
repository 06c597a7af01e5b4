-- expect: none
CREATE TABLE parcels_import (id bigint NOT NULL, note text NOT NULL);
ALTER TABLE parcels_import ALTER COLUMN note DROP NOT NULL;
