-- expect: vacuum-full
SET lock_timeout = '5s';
SET statement_timeout = '1h';
VACUUM (FULL true) "Events";
