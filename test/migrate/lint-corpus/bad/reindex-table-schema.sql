-- expect: reindex-not-concurrently
SET lock_timeout = '5s';
SET statement_timeout = '30min';
REINDEX TABLE billing.invoices;
