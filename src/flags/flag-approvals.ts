import { randomBytes } from 'node:crypto';
import type { EventLog } from '../controller/event-log.js';
import { CutoverError } from '../core/errors.js';
import type { FlagRecordTable, TableRecord } from './flag-record-table.js';
import type { FlagRolloutRunner, StartRollout } from './flag-rollout-runner.js';
import type { FlagScheduler } from './flag-scheduler.js';
import type { FlagService } from './flag-service.js';
import type { ScheduledAction } from './scheduled-action.js';

/**
 * Four-eyes flag changes (`flags.require_approval: [production]`): in those
 * environments a change through the API or the CLI is not applied but stored
 * as pending, checked as it would be when applied. A second, different person
 * approves it (`cutover flags approve <id>`; the proposer is refused) or
 * anyone rejects it. The approval is recorded the way a deploy's is: a
 * `flag-change.approved` event naming who approved (the event log stamps
 * when), and the change's record keeps `decidedBy` and `decidedAt`.
 *
 * A scheduled change in such an environment is approved when it is
 * scheduled, not when it fires: the approval is of the plan, so nobody has
 * to be awake at its time, and the change fires without a second wait.
 */
export type ProposedOperation =
  | { type: 'create'; flag: unknown }
  | { type: 'replace'; flag: unknown; ifVersion?: number }
  | { type: 'patch'; patch: unknown; ifVersion?: number }
  | { type: 'delete'; ifVersion?: number }
  | { type: 'schedule'; at: number; action: ScheduledAction }
  | { type: 'rollout'; rollout: Omit<StartRollout, 'actor'> };

export type PendingState = 'pending' | 'approved' | 'rejected' | 'failed';

export interface PendingFlagChange extends TableRecord {
  id: string;
  environment: string;
  key: string;
  operation: ProposedOperation;
  state: PendingState;
  /** When it was proposed (ms). */
  at: number;
  proposedBy: string;
  reason: string | null;
  decidedBy: string | null;
  decidedAt: number | null;
  /** Why a rejection, or why applying the approved change failed. */
  decision: string | null;
  /** The flag version an approved write made, or the schedule an approved schedule created. */
  result: { version?: number; scheduleId?: string; rolloutId?: string } | null;
}

export interface FlagApprovalsDeps {
  flags: FlagService;
  scheduler: FlagScheduler;
  rollouts: FlagRolloutRunner;
  table: FlagRecordTable<PendingFlagChange>;
  events: EventLog;
  /** `flags.require_approval`. */
  requireApproval: readonly string[];
  now: () => number;
}

export class FlagApprovals {
  constructor(private readonly deps: FlagApprovalsDeps) {}

  requires(environment: string): boolean {
    return this.deps.requireApproval.includes(environment);
  }

  /** Stores the change as pending after checking it would apply now; nothing of the flag changes. */
  propose(
    environment: string,
    key: string,
    operation: ProposedOperation,
    options: { actor: string; reason?: string | null },
  ): PendingFlagChange {
    this.check(environment, key, operation, options.actor);
    const at = this.deps.now();
    const change: PendingFlagChange = {
      id: `fc-${at.toString(36)}-${randomBytes(3).toString('hex')}`,
      environment,
      key,
      operation,
      state: 'pending',
      at,
      proposedBy: options.actor,
      reason: options.reason ?? null,
      decidedBy: null,
      decidedAt: null,
      decision: null,
      result: null,
    };
    this.deps.table.put(change);
    this.record(
      change,
      'flag-change.proposed',
      `${describeOperation(operation)} of ${key} in ${environment} proposed by ${options.actor}; it waits for another person's approval (${change.id})`,
    );
    return change;
  }

  get(id: string): PendingFlagChange {
    const change = this.deps.table.get(id);
    if (!change)
      throw new CutoverError('NOT_FOUND', `no flag change ${id}`, {
        hint: 'Run `cutover flags pending` to list them.',
      });
    return change;
  }

  /** Pending ones, oldest first; with `all`, decided ones too. */
  list(environment: string | null, all: boolean): PendingFlagChange[] {
    return this.deps.table
      .list(all ? undefined : 'pending')
      .filter((change) => environment === null || change.environment === environment);
  }

  /** Applies the change as its proposer's, approved by `actor`, who must be someone else. */
  approve(id: string, actor: string): PendingFlagChange {
    const change = this.pending(id);
    if (actor.trim() === change.proposedBy.trim())
      throw new CutoverError('FORBIDDEN', `${actor} proposed flag change ${id} and cannot also approve it`, {
        hint: 'A second person approves it with `cutover flags approve ' + id + '`; you may reject (withdraw) it.',
      });
    const decidedAt = this.deps.now();
    let result: PendingFlagChange['result'];
    try {
      result = this.apply(change, actor);
    } catch (error) {
      const failed: PendingFlagChange = {
        ...change,
        state: 'failed',
        decidedBy: actor,
        decidedAt,
        decision: (error as Error).message,
      };
      this.deps.table.put(failed);
      this.record(
        failed,
        'flag-change.failed',
        `flag change ${id} approved by ${actor} could not be applied: ${failed.decision}`,
        'error',
      );
      throw error;
    }
    const approved: PendingFlagChange = { ...change, state: 'approved', decidedBy: actor, decidedAt, result };
    this.deps.table.put(approved);
    this.record(
      approved,
      'flag-change.approved',
      `${describeOperation(change.operation)} of ${change.key} in ${change.environment} (proposed by ${change.proposedBy}) approved by ${actor}`,
    );
    return approved;
  }

  /** Anyone may reject, the proposer too (a withdrawal). */
  reject(id: string, actor: string, reason: string | null): PendingFlagChange {
    const change = this.pending(id);
    const rejected: PendingFlagChange = {
      ...change,
      state: 'rejected',
      decidedBy: actor,
      decidedAt: this.deps.now(),
      decision: reason,
    };
    this.deps.table.put(rejected);
    this.record(
      rejected,
      'flag-change.rejected',
      `${describeOperation(change.operation)} of ${change.key} in ${change.environment} (proposed by ${change.proposedBy}) rejected by ${actor}${reason ? `: ${reason}` : ''}`,
      'warn',
    );
    return rejected;
  }

  private pending(id: string): PendingFlagChange {
    const change = this.get(id);
    if (change.state !== 'pending')
      throw new CutoverError(
        'INVALID_STATE',
        `flag change ${id} is ${change.state}${change.decidedBy ? ` (by ${change.decidedBy})` : ''}, not pending`,
      );
    return change;
  }

  private check(environment: string, key: string, operation: ProposedOperation, actor: string): void {
    const { flags, scheduler } = this.deps;
    switch (operation.type) {
      case 'create':
      case 'replace':
      case 'patch':
        flags.preview(environment, key, operation);
        return;
      case 'delete':
      case 'rollout':
        flags.get(environment, key);
        return;
      case 'schedule':
        scheduler.check(environment, key, { at: operation.at, action: operation.action, actor });
    }
  }

  private apply(change: PendingFlagChange, approver: string): PendingFlagChange['result'] {
    const { flags, scheduler } = this.deps;
    const { environment, key, operation } = change;
    const options = {
      actor: change.proposedBy,
      reason: `${change.reason ? `${change.reason}; ` : ''}approved by ${approver} (${change.id})`,
    };
    switch (operation.type) {
      case 'create':
        return { version: flags.create(environment, operation.flag, options).version };
      case 'replace':
        return {
          version: flags.replace(environment, key, operation.flag, { ...options, ifVersion: operation.ifVersion })
            .version,
        };
      case 'patch':
        return {
          version: flags.patch(environment, key, operation.patch, { ...options, ifVersion: operation.ifVersion })
            .version,
        };
      case 'delete':
        return { version: flags.remove(environment, key, { ...options, ifVersion: operation.ifVersion }).version };
      case 'schedule': {
        const schedule = scheduler.create(
          environment,
          key,
          { at: operation.at, action: operation.action, actor: change.proposedBy },
          approver,
        );
        return { scheduleId: schedule.id };
      }
      case 'rollout':
        return {
          rolloutId: this.deps.rollouts.start(environment, key, { ...operation.rollout, actor: change.proposedBy }).id,
        };
    }
  }

  private record(
    change: PendingFlagChange,
    type: string,
    message: string,
    level: 'info' | 'warn' | 'error' = 'info',
  ): void {
    this.deps.events.record({
      operationId: change.id,
      service: `flag:${change.environment}/${change.key}`,
      releaseId: null,
      type,
      message,
      data: { id: change.id, state: change.state, proposedBy: change.proposedBy, decidedBy: change.decidedBy },
      level,
    });
  }
}

export function describeOperation(operation: ProposedOperation): string {
  switch (operation.type) {
    case 'create':
      return 'creation';
    case 'replace':
      return 'replacement';
    case 'patch':
      return `change (${Object.keys(isMap(operation.patch) ? operation.patch : {}).join(', ') || 'empty patch'})`;
    case 'delete':
      return 'deletion';
    case 'schedule':
      return `schedule for ${new Date(operation.at).toISOString()}`;
    case 'rollout':
      return `progressive rollout (${operation.rollout.steps.map((step) => `${step}%`).join(', ')})`;
  }
}

function isMap(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
