-- expect: create-index-not-concurrently, missing-lock-timeout, missing-statement-timeout
-- cutover:phase contract
ALTER TABLE vendors DROP COLUMN fax;
CREATE INDEX vendors_vat_idx ON vendors (vat_id);
