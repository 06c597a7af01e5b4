-- expect: none
VACUUM (FULL false, ANALYZE) orders;
