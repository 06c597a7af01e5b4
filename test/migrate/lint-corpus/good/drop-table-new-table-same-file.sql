-- expect: none
CREATE TABLE tmp_export (id bigint);
INSERT INTO tmp_export SELECT id FROM orders WHERE false;
DROP TABLE tmp_export;
