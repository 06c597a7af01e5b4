-- expect: vacuum-full
SET statement_timeout = '1h';
VACUUM FULL;
