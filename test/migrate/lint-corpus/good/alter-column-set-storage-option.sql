-- expect: none
ALTER TABLE events ALTER COLUMN payload SET (n_distinct = 1000);
