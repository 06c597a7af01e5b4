import type { Slot } from '../core/slot.js';
import type { InstanceInfo } from '../runtime/index.js';
import type {
  ErrorRecord,
  EventRecord,
  LockRecord,
  MaintenanceRecord,
  OperationOutcome,
  OperationRecord,
  ReleaseRecord,
  ServiceRecord,
} from './records.js';

/**
 * The store port: what the controller, its runners, the instance supervisor
 * and recovery read and write (and two reads the metrics make through the
 * controller), nothing else. `SqliteStore` is the durable
 * implementation; logic tests run it in memory. Keeping the interface to these
 * methods is what lets the controller be reasoned about without SQLite.
 */
export interface NewRelease {
  service: string;
  version: string;
  slot: Slot;
  config: unknown;
  configHash: string;
  gitCommit: string | null;
  gitBranch: string | null;
  createdBy: string;
}

export type ReleasePatch = Partial<Pick<ReleaseRecord, 'state' | 'slot' | 'activatedAt' | 'scaleDownAt' | 'error'>>;

export interface Store {
  /** Runs `fn` atomically: a crash leaves all of its writes or none. */
  transaction<T>(fn: () => T): T;

  getService(name: string): ServiceRecord;
  setActiveRelease(service: string, releaseId: string | null, now: number): void;
  /** The service's maintenance, or null when it serves normally. */
  getMaintenance(service: string): MaintenanceRecord | null;
  /** Null switches maintenance off. */
  setMaintenance(service: string, record: MaintenanceRecord | null): void;

  createRelease(input: NewRelease, now: number): ReleaseRecord;
  getRelease(id: string): ReleaseRecord | null;
  listReleases(service: string, limit?: number): ReleaseRecord[];
  updateRelease(id: string, patch: ReleasePatch): void;

  createOperation(op: Omit<OperationRecord, 'finishedAt' | 'outcome' | 'error'>): OperationRecord;
  getOperation(id: string): OperationRecord | null;
  updateOperation(id: string, patch: { phase?: string; state?: unknown; releaseId?: string | null }): void;
  finishOperation(id: string, outcome: OperationOutcome, error: ErrorRecord | null, now: number): void;
  unfinishedOperations(): OperationRecord[];
  listOperations(service: string, limit?: number): OperationRecord[];

  appendEvent(event: Omit<EventRecord, 'seq'>): EventRecord;
  eventsOf(operationId: string, afterSeq?: number): EventRecord[];
  eventsOfType(service: string, type: string, limit?: number): EventRecord[];

  /** Throws DEPLOY_LOCKED when another operation holds the service. */
  acquireLock(service: string, operationId: string, holder: string, now: number): void;
  getLock(service: string): LockRecord | null;
  releaseLock(service: string, operationId: string): void;

  saveInstance(info: InstanceInfo): void;
  deleteInstance(id: string): void;
  listInstances(): InstanceInfo[];

  // Read by the admin API's Prometheus metrics through `controller.store`.
  finishedOperationStats(): { service: string; kind: string; strategy: string; outcome: string; durationMs: number }[];
  countEventsByType(types: readonly string[]): { service: string; type: string; count: number }[];
}
