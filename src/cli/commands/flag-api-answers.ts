import type { Flag } from '../../flags/flag-model.js';

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
}

export interface EvaluationCount {
  /** null: evaluations that failed (the SDK answered the caller's default). */
  variant: string | null;
  count: number;
  lastSeenAt: number | null;
}

export type FlagRolloutPhase = 'running' | 'succeeded' | 'failed' | 'aborted';

export interface FlagRollout {
  id: string;
  environment: string;
  flag: string;
  steps: number[];
  pauseMs: number;
  analysis: string[];
  service: string | null;
  variant: string;
  /** The step in force; -1 before the first. */
  stepIndex: number;
  phase: FlagRolloutPhase;
  /** The flag before the rollout: what a failure restores. */
  previous: Flag;
  reason: string | null;
  actor: string;
  startedAt: number;
  finishedAt: number | null;
}

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
