-- expect: drop-index-not-concurrently, missing-lock-timeout
DROP INDEX invoices_due_idx;
