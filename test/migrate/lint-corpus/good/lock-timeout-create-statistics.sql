-- expect: none
CREATE STATISTICS orders_region_city (dependencies) ON region, city FROM orders;
