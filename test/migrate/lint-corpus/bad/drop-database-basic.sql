-- expect: drop-database
DROP DATABASE reports_archive;
