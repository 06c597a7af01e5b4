-- expect: cluster
SET lock_timeout = '5s';
SET statement_timeout = '1h';
CLUSTER VERBOSE invoices USING invoices_pkey;
