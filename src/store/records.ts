import type { Slot } from '../core/slot.js';

/** Rows as the rest of the code sees them; the SQLite layout stays inside sqlite-store.ts. */

/**
 * A release's lifecycle:
 *   starting → ready → active → standby → stopped
 * with failed / aborted for a deploy that never got traffic and pruned for a
 * release beyond the rollback limit. Only active and standby releases run.
 */
export type ReleaseState = 'starting' | 'ready' | 'active' | 'standby' | 'stopped' | 'failed' | 'aborted' | 'pruned';

export interface ReleaseRecord {
  id: string;
  service: string;
  seq: number;
  version: string;
  slot: Slot;
  state: ReleaseState;
  /** Resolved service config with secrets redacted. */
  config: unknown;
  configHash: string;
  gitCommit: string | null;
  gitBranch: string | null;
  createdBy: string;
  createdAt: number;
  activatedAt: number | null;
  /** When a standby release's instances are due to stop (scale_down_delay). */
  scaleDownAt: number | null;
  error: ErrorRecord | null;
}

export interface ErrorRecord {
  code: string;
  message: string;
  hint?: string;
}

/** `deploy-wave`: a multi-service deploy (service `*`), whose services' deploys are operations of their own. */
export type OperationKind = 'deploy' | 'switch' | 'rollback' | 'cleanup' | 'deploy-wave';
export type OperationOutcome = 'succeeded' | 'failed' | 'aborted';

export interface OperationRecord {
  id: string;
  service: string;
  kind: OperationKind;
  /** The release traffic should end on. */
  releaseId: string | null;
  /** The release that was active when the operation started. */
  fromReleaseId: string | null;
  actor: string;
  /** The strategy's persisted state (JSON), so a restart knows where it stopped. */
  phase: string;
  state: unknown;
  startedAt: number;
  finishedAt: number | null;
  outcome: OperationOutcome | null;
  error: ErrorRecord | null;
}

export interface EventRecord {
  seq: number;
  operationId: string | null;
  service: string;
  releaseId: string | null;
  at: number;
  type: string;
  message: string;
  data: unknown;
}

export interface ServiceRecord {
  name: string;
  activeReleaseId: string | null;
  updatedAt: number;
}

export interface LockRecord {
  service: string;
  operationId: string;
  holder: string;
  acquiredAt: number;
}
