-- expect: none
GRANT SELECT ON orders, customers TO reporting;
COMMENT ON TABLE orders IS 'one row per checkout';
