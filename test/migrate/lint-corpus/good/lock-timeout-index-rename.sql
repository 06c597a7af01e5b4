-- expect: none
ALTER INDEX orders_customer_idx RENAME TO orders_customer_id_idx;
