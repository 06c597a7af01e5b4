-- expect: rewrite-table
SET lock_timeout = '5s';
SET statement_timeout = '10min';
ALTER TABLE audit_log SET TABLESPACE archive_disks;
