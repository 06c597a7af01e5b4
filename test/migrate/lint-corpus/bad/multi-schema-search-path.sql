-- expect: rename-table
SET search_path = crm, public;
SET lock_timeout = '5s';
ALTER TABLE leads RENAME TO prospects;
