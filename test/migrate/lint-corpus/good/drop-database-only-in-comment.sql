-- expect: none
-- DROP DATABASE reports_archive; is done by hand after the final dump, not here
SET lock_timeout = '5s';
ALTER TABLE reports ADD COLUMN archived boolean NOT NULL DEFAULT false;
