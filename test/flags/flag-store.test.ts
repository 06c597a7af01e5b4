import Database from 'better-sqlite3';
import { MemoryFlagStore } from '../../src/flags/memory-flag-store.js';
import { SqliteFlagStore } from '../../src/flags/sqlite-flag-store.js';
import { flagStoreContract } from './flag-store-contract.js';

// An in-memory SQLite database per case: the real store's SQL, no file to clean up.
flagStoreContract({ name: 'SQLite', setup: () => new SqliteFlagStore(new Database(':memory:')) });
flagStoreContract({ name: 'in memory (the fake)', setup: () => new MemoryFlagStore() });
