import type Database from 'better-sqlite3';
import { MemoryClientTokenStore, type ClientTokenStore } from './client-token-store.js';
import { ClientTokens } from './client-tokens.js';
import { FlagRolloutRunner, type FlagRolloutDeps } from './flag-rollout-runner.js';
import { FlagService } from './flag-service.js';
import type { FlagStore } from './flag-store.js';
import { MemoryFlagStore } from './memory-flag-store.js';
import { SqliteClientTokenStore } from './sqlite-client-token-store.js';
import { SqliteFlagStore } from './sqlite-flag-store.js';

/**
 * Builds the flag feature (store, service, progressive rollouts) in one place,
 * Unleash style: `createFlagFeature` over the deploy state's SQLite file for
 * the server, `createFakeFlagFeature` over an in-memory store for tests. Both
 * stores pass test/flags/flag-store-contract.ts, so the two builds differ only
 * in where the rows live. The routes (flag-routes.ts, seeds-flag-routes.ts)
 * are registered by the admin API with the service and runner built here.
 */
export interface FlagFeature {
  store: FlagStore;
  service: FlagService;
  rollouts: FlagRolloutRunner;
  /** Client-side tokens for OFREP (`cutover flags tokens`). */
  clientTokens: ClientTokens;
}

export interface FlagFeatureOptions extends Omit<FlagRolloutDeps, 'flags' | 'store'> {
  /** From cutover.yaml `flags.environments`; the first is the default. */
  environments: readonly string[];
}

export function createFlagFeature(database: Database.Database, options: FlagFeatureOptions): FlagFeature {
  return buildFlagFeature(new SqliteFlagStore(database), new SqliteClientTokenStore(database), options);
}

export function createFakeFlagFeature(options: FlagFeatureOptions): FlagFeature {
  return buildFlagFeature(new MemoryFlagStore(), new MemoryClientTokenStore(), options);
}

function buildFlagFeature(store: FlagStore, tokenStore: ClientTokenStore, options: FlagFeatureOptions): FlagFeature {
  const { environments, ...rolloutDeps } = options;
  const service = new FlagService(store, environments, options.now);
  const rollouts = new FlagRolloutRunner({ ...rolloutDeps, flags: service, store });
  return { store, service, rollouts, clientTokens: new ClientTokens(tokenStore, options.now) };
}
