-- expect: parse-error
ALTR TABLE tickets ADD COLUMN tags text[];
