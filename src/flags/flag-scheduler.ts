import { randomBytes } from 'node:crypto';
import type { EventLog } from '../controller/event-log.js';
import type { Clock, ClockTimer } from '../core/clock.js';
import { CutoverError } from '../core/errors.js';
import type { FlagRecordTable, TableRecord } from './flag-record-table.js';
import type { FlagService } from './flag-service.js';
import type { FlagStore } from './flag-store.js';
import { applyAction, describeAction, type ScheduledAction } from './scheduled-action.js';

/**
 * Scheduled flag changes (`cutover flags schedule new-checkout --at
 * 2026-03-01T09:00Z --percent 50`): stored in SQLite when scheduled, carried
 * out at their time by a timer on the injected clock, each exactly once. A
 * server that was down at a change's time carries it out when it starts
 * (`start`), once: the change's state is written in the same transaction as
 * the flag. Every step is an event (so notified) and the flag's history
 * names the schedule and who scheduled it.
 */
export type ScheduleState = 'scheduled' | 'applied' | 'failed' | 'cancelled';

export interface FlagSchedule extends TableRecord {
  id: string;
  environment: string;
  key: string;
  /** When it is due (ms). */
  at: number;
  action: ScheduledAction;
  state: ScheduleState;
  scheduledBy: string;
  scheduledAt: number;
  /** Who approved it, in an environment with `flags.require_approval`. */
  approvedBy: string | null;
  finishedAt: number | null;
  /** Who cancelled it; for an applied or failed one, the scheduler. */
  finishedBy: string | null;
  /** The flag version it wrote. */
  version: number | null;
  /** Why it failed. */
  error: string | null;
}

export interface ScheduleRequest {
  at: number;
  action: ScheduledAction;
  actor: string;
}

/** A change scheduled further ahead than this is a typo of the year more often than a plan. */
export const MAX_SCHEDULE_AHEAD_MS = 365 * 86_400_000;
/** The timer never waits longer than this: a real timer cannot wait a year, and a clock jump is seen within the hour. */
const MAX_WAKE_MS = 3_600_000;

export interface FlagSchedulerDeps {
  flags: FlagService;
  /** For the transaction that writes the flag and the schedule's new state together. */
  store: FlagStore;
  table: FlagRecordTable<FlagSchedule>;
  events: EventLog;
  clock: Clock;
}

export class FlagScheduler {
  private timer: ClockTimer | null = null;
  private started = false;

  constructor(private readonly deps: FlagSchedulerDeps) {}

  /** At server start: carries out what fell due while the server was down, then waits for the next. */
  start(): void {
    this.started = true;
    this.runDue();
  }

  close(): void {
    this.started = false;
    this.timer?.cancel();
    this.timer = null;
  }

  /** Refuses what could never be carried out: an unknown flag or variant, a time in the past or over a year ahead. */
  check(environment: string, key: string, request: ScheduleRequest): void {
    const now = this.deps.clock.now();
    if (!Number.isFinite(request.at) || request.at <= now)
      throw new CutoverError(
        'BAD_REQUEST',
        `at: ${formatTime(request.at)} is not in the future (now ${formatTime(now)})`,
        {
          hint: 'Give a time ahead, like --at 2026-03-01T09:00:00Z or --at +2h.',
        },
      );
    if (request.at - now > MAX_SCHEDULE_AHEAD_MS)
      throw new CutoverError('BAD_REQUEST', `at: ${formatTime(request.at)} is more than a year ahead`, {
        hint: 'Schedule changes up to a year ahead.',
      });
    applyAction(this.deps.flags.get(environment, key).flag, request.action);
  }

  create(environment: string, key: string, request: ScheduleRequest, approvedBy: string | null = null): FlagSchedule {
    this.check(environment, key, request);
    const now = this.deps.clock.now();
    const schedule: FlagSchedule = {
      id: `fs-${now.toString(36)}-${randomBytes(3).toString('hex')}`,
      environment,
      key,
      at: request.at,
      action: request.action,
      state: 'scheduled',
      scheduledBy: request.actor,
      scheduledAt: now,
      approvedBy,
      finishedAt: null,
      finishedBy: null,
      version: null,
      error: null,
    };
    this.deps.table.put(schedule);
    this.record(
      schedule,
      'flag-schedule.created',
      `${describeAction(schedule.action)} of ${key} in ${environment} scheduled for ${formatTime(schedule.at)} by ${request.actor}${approvedBy === null ? '' : `, approved by ${approvedBy}`}`,
    );
    this.arm();
    return schedule;
  }

  cancel(id: string, actor: string): FlagSchedule {
    const schedule = this.get(id);
    if (schedule.state !== 'scheduled')
      throw new CutoverError('INVALID_STATE', `scheduled change ${id} is ${schedule.state}, not waiting`);
    const cancelled: FlagSchedule = {
      ...schedule,
      state: 'cancelled',
      finishedAt: this.deps.clock.now(),
      finishedBy: actor,
    };
    this.deps.table.put(cancelled);
    this.record(
      cancelled,
      'flag-schedule.cancelled',
      `${describeAction(schedule.action)} of ${schedule.key} due ${formatTime(schedule.at)} cancelled by ${actor}`,
    );
    this.arm();
    return cancelled;
  }

  get(id: string): FlagSchedule {
    const schedule = this.deps.table.get(id);
    if (!schedule)
      throw new CutoverError('NOT_FOUND', `no scheduled flag change ${id}`, {
        hint: 'Run `cutover flags schedules --all`.',
      });
    return schedule;
  }

  /** Waiting ones by due time; with `all`, the applied, failed and cancelled ones too. */
  list(environment: string | null, all: boolean): FlagSchedule[] {
    return this.deps.table
      .list(all ? undefined : 'scheduled')
      .filter((schedule) => environment === null || schedule.environment === environment);
  }

  private runDue(): void {
    if (!this.started) return;
    const now = this.deps.clock.now();
    for (const schedule of this.deps.table.list('scheduled')) {
      if (schedule.at > now) break;
      this.apply(schedule);
    }
    this.arm();
  }

  private apply(schedule: FlagSchedule): void {
    const { flags, store, table } = this.deps;
    const now = this.deps.clock.now();
    try {
      const applied = store.transaction(() => {
        const stored = flags.upsert(
          schedule.environment,
          schedule.key,
          (existing) => {
            if (existing === null) throw new CutoverError('FLAG_NOT_FOUND', `flag "${schedule.key}" was deleted`);
            return applyAction(existing, schedule.action);
          },
          {
            actor: `schedule ${schedule.id}`,
            reason: `scheduled by ${schedule.scheduledBy} for ${formatTime(schedule.at)}${schedule.approvedBy === null ? '' : `, approved by ${schedule.approvedBy}`}`,
          },
        );
        const done: FlagSchedule = {
          ...schedule,
          state: 'applied',
          finishedAt: now,
          finishedBy: 'scheduler',
          version: stored.version,
        };
        table.put(done);
        return done;
      });
      this.record(
        applied,
        'flag-schedule.applied',
        `${describeAction(applied.action)} of ${applied.key} in ${applied.environment} applied as scheduled by ${applied.scheduledBy} (version ${applied.version})`,
      );
    } catch (error) {
      const failed: FlagSchedule = {
        ...schedule,
        state: 'failed',
        finishedAt: now,
        finishedBy: 'scheduler',
        error: (error as Error).message,
      };
      table.put(failed);
      this.record(
        failed,
        'flag-schedule.failed',
        `${describeAction(failed.action)} of ${failed.key} in ${failed.environment}, scheduled by ${failed.scheduledBy}, failed: ${failed.error}`,
        'error',
      );
    }
  }

  /** One timer for the earliest waiting change, woken at least hourly. */
  private arm(): void {
    this.timer?.cancel();
    this.timer = null;
    if (!this.started) return;
    const next = this.deps.table.list('scheduled')[0];
    if (next === undefined) return;
    const wait = Math.min(Math.max(0, next.at - this.deps.clock.now()), MAX_WAKE_MS);
    this.timer = this.deps.clock.schedule(() => {
      this.timer = null;
      this.runDue();
    }, wait);
  }

  private record(schedule: FlagSchedule, type: string, message: string, level: 'info' | 'error' = 'info'): void {
    this.deps.events.record({
      operationId: schedule.id,
      service: `flag:${schedule.environment}/${schedule.key}`,
      releaseId: null,
      type,
      message,
      data: schedule,
      level,
    });
  }
}

function formatTime(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms);
}
