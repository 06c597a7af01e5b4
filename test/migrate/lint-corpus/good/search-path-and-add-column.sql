-- expect: none
SET search_path = crm, public;
SET lock_timeout = '5s';
ALTER TABLE leads ADD COLUMN score smallint;
