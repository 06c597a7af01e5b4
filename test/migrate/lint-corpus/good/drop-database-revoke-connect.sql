-- expect: none
REVOKE CONNECT ON DATABASE reports_archive FROM PUBLIC;
