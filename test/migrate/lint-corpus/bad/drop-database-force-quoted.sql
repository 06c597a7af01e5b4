-- expect: drop-database
DROP DATABASE IF EXISTS "Old-Reports" WITH (FORCE);
