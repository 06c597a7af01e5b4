import type { Flag } from '../../flags/flag-model.js';
import type { Staleness } from '../../flags/flag-staleness.js';
import type { FlagRollout, FlagRolloutPhase } from '../../flags/flag-rollout-runner.js';

/**
 * The flag routes' answers as the CLI reads them (docs/flags.md, "Admin
 * routes"). The CLI only reads these, so they are plain JSON shapes, not the
 * server's records.
 */

export interface FlagEntry {
  environment: string;
  flag: Flag;
  version: number;
  updatedAt: number;
  updatedBy: string;
  /** In `GET /api/v1/flags` only: the flag's reasons to be stale (flags.stale_after); empty when it is not. */
  stale?: Staleness[];
}

export interface EvaluationCount {
  /** null: evaluations that failed (the SDK answered the caller's default). */
  variant: string | null;
  count: number;
  lastSeenAt: number | null;
}

// The rollout as the server sends it: the runner's own record (a type-only import, nothing of the server is loaded).
export type { FlagRollout, FlagRolloutPhase };

export interface FlagDetail extends FlagEntry {
  evaluations?: EvaluationCount[];
  activeRollout?: FlagRollout | null;
}

export interface FlagList {
  environment: string;
  revision: number;
  flags: FlagEntry[];
}

export interface AuditEntry {
  seq: number;
  at: number;
  actor: string;
  action: 'create' | 'update' | 'delete';
  reason: string | null;
  before: Flag | null;
  after: Flag | null;
  version: number;
}

export interface RolloutEvent {
  seq: number;
  at: number;
  type: string;
  message: string;
}
