-- expect: drop-table
SET lock_timeout = '5s';
DROP TABLE archive."Events2019" CASCADE;
