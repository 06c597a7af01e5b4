-- expect: none
CREATE TABLE rollup_cache (k text PRIMARY KEY, v jsonb);
REINDEX TABLE rollup_cache;
