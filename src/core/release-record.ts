import type { Slot } from './slot.js';

/**
 * A release as persisted and as the pure choices in core (release-selection.ts)
 * see it. Owned by core so core imports nothing outside itself; store/records.ts
 * re-exports it for the stores.
 */

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
