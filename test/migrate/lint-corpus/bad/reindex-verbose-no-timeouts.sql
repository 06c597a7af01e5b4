-- expect: reindex-not-concurrently, missing-lock-timeout, missing-statement-timeout
REINDEX (VERBOSE) INDEX "Ledger_pkey";
