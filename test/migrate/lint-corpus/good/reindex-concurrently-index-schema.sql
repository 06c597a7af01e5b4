-- expect: none
REINDEX (VERBOSE) INDEX CONCURRENTLY billing."Invoices_pkey";
