-- expect: none
SET lock_timeout = '5s';
TRUNCATE TABLE ONLY import_errors RESTRICT;
