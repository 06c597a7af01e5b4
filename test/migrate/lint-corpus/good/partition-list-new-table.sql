-- expect: none
CREATE TABLE orders_by_region (id bigint, region text NOT NULL) PARTITION BY LIST (region);
CREATE TABLE orders_by_region_eu PARTITION OF orders_by_region FOR VALUES IN ('eu');
CREATE INDEX orders_by_region_id_idx ON orders_by_region (id);
