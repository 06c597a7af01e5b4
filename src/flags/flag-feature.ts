import type Database from 'better-sqlite3';
import type { Clock } from '../core/clock.js';
import { MemoryClientTokenStore, type ClientTokenStore } from './client-token-store.js';
import { ClientTokens } from './client-tokens.js';
import { FlagApprovals, type PendingFlagChange } from './flag-approvals.js';
import { FlagHygiene } from './flag-hygiene.js';
import { MemoryFlagRecordTable, type FlagRecordTable } from './flag-record-table.js';
import { FlagRolloutRunner, type FlagRolloutDeps } from './flag-rollout-runner.js';
import { FlagScheduler, type FlagSchedule } from './flag-scheduler.js';
import { FlagService } from './flag-service.js';
import type { FlagStore } from './flag-store.js';
import { MemoryFlagStore } from './memory-flag-store.js';
import { SqliteClientTokenStore } from './sqlite-client-token-store.js';
import { SqliteFlagRecordTable } from './sqlite-flag-record-table.js';
import { SqliteFlagStore } from './sqlite-flag-store.js';

/**
 * Builds the flag feature (store, service, progressive rollouts, scheduled
 * changes, approvals, hygiene) in one place, Unleash style:
 * `createFlagFeature` over the deploy state's SQLite file for the server,
 * `createFakeFlagFeature` over in-memory stores for tests. Both stores pass
 * test/flags/flag-store-contract.ts, so the two builds differ only in where
 * the rows live. The routes (flag-routes.ts, seeds-flag-routes.ts) are
 * registered by the admin API with what is built here.
 */
export interface FlagFeature {
  store: FlagStore;
  service: FlagService;
  rollouts: FlagRolloutRunner;
  /** Client-side tokens for OFREP (`cutover flags tokens`). */
  clientTokens: ClientTokens;
  /** `cutover flags schedule`; `start()` it once the server is up (it carries out what fell due while down). */
  scheduler: FlagScheduler;
  /** `flags.require_approval`: pending changes and their approvals. */
  approvals: FlagApprovals;
  /** Stale flags (`flags.stale_after`). */
  hygiene: FlagHygiene;
}

export interface FlagFeatureOptions extends Omit<FlagRolloutDeps, 'flags' | 'store'> {
  /** From cutover.yaml `flags.environments`; the first is the default. */
  environments: readonly string[];
  /** The scheduled changes' timer and every timestamp of the feature (default: the wall clock and Node's timers). */
  clock?: Clock;
  /** `flags.stale_after` (default 30 days). */
  staleAfterMs?: number;
  /** `flags.require_approval` (default none). */
  requireApproval?: readonly string[];
}

interface Tables {
  schedules: FlagRecordTable<FlagSchedule>;
  pending: FlagRecordTable<PendingFlagChange>;
}

export function createFlagFeature(database: Database.Database, options: FlagFeatureOptions): FlagFeature {
  return buildFlagFeature(
    new SqliteFlagStore(database),
    new SqliteClientTokenStore(database),
    {
      schedules: new SqliteFlagRecordTable(database, 'flag_schedules'),
      pending: new SqliteFlagRecordTable(database, 'flag_pending_changes'),
    },
    options,
  );
}

export function createFakeFlagFeature(options: FlagFeatureOptions): FlagFeature {
  return buildFlagFeature(
    new MemoryFlagStore(),
    new MemoryClientTokenStore(),
    { schedules: new MemoryFlagRecordTable(), pending: new MemoryFlagRecordTable() },
    options,
  );
}

const DEFAULT_STALE_AFTER_MS = 30 * 86_400_000;

function buildFlagFeature(
  store: FlagStore,
  tokenStore: ClientTokenStore,
  tables: Tables,
  options: FlagFeatureOptions,
): FlagFeature {
  const { environments, clock: givenClock, staleAfterMs, requireApproval, ...rolloutDeps } = options;
  const clock = givenClock ?? wallClock(options.now ?? Date.now);
  const now = givenClock ? () => givenClock.now() : (options.now ?? Date.now);
  const service = new FlagService(store, environments, now);
  const rollouts = new FlagRolloutRunner({ ...rolloutDeps, now, flags: service, store });
  const scheduler = new FlagScheduler({
    flags: service,
    store,
    table: tables.schedules,
    events: options.events,
    clock,
  });
  const approvals = new FlagApprovals({
    flags: service,
    scheduler,
    rollouts,
    table: tables.pending,
    events: options.events,
    requireApproval: requireApproval ?? [],
    now,
  });
  return {
    store,
    service,
    rollouts,
    clientTokens: new ClientTokens(tokenStore, now),
    scheduler,
    approvals,
    hygiene: new FlagHygiene(store, staleAfterMs ?? DEFAULT_STALE_AFTER_MS, now),
  };
}

/** The wall clock over `now` (a test's) and Node's timers, unref'd like the server's clock. */
function wallClock(now: () => number): Clock {
  return {
    now,
    schedule(callback, ms) {
      const timer = setTimeout(callback, Math.max(0, ms));
      timer.unref();
      return { cancel: () => clearTimeout(timer) };
    },
    sleep(ms, signal) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(resolve, Math.max(0, ms));
        signal?.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(new Error('aborted'));
        });
      });
    },
  };
}
