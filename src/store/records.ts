import type { ErrorRecord } from '../core/release-record.js';

/** Rows as the rest of the code sees them; the SQLite layout stays inside sqlite-store.ts. */

// The release row is the domain's own type (core/release-record.ts); re-exported so stores and callers keep one import.
export type { ErrorRecord, ReleaseRecord, ReleaseState } from '../core/release-record.js';

/**
 * `deploy-wave`: a multi-service deploy (service `*`), whose services' deploys are operations of their own.
 * `down`: `cutover down <service>`, the deliberate stop of one service (controller/service-stop.ts).
 */
export type OperationKind = 'deploy' | 'switch' | 'rollback' | 'cleanup' | 'deploy-wave' | 'down';
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

/** A service in maintenance (`cutover maintenance on`): kept across server restarts until switched off. */
export interface MaintenanceRecord {
  service: string;
  message: string;
  retryAfterSec: number;
  /** CIDR blocks whose clients still reach the service. */
  allow: string[];
  /** The team's page (`maintenance_page`), read once when maintenance went on: a restart serves the same page. */
  page?: string;
  actor: string;
  since: number;
}

export interface LockRecord {
  service: string;
  operationId: string;
  holder: string;
  acquiredAt: number;
}
