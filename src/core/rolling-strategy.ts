import { addClause } from './log-tail-message.js';

/**
 * Rolling update as a pure state machine: the running release's instances
 * are replaced in batches, in place. Traffic follows the share of new
 * instances (the runner routes the new release as a weighted second target).
 *
 *   start-first, per batch:  start new → healthy → route → drain + stop old → monitor → (delay) → next
 *   stop-first, per batch:   route → drain + stop old → start new → healthy → route → monitor → (delay) → next
 *   last batch done → promote (the new release is the only target) → succeeded
 *
 * A failed batch (a start failure, an exit, a health timeout, or a problem in
 * the monitor window) counts its instances; once more than max_failure_ratio
 * of all instances failed, failure_action decides: rollback (start the old
 * instances again where they were replaced, then stop every new one), pause
 * (a person resumes, which retries the batch) or continue.
 *
 * An inconclusive batch analysis (no data in the window, or neither condition
 * met) follows on_inconclusive: pause (a person's resume accepts the batch and
 * goes on, abort rolls back), fail (a failed batch, as above) or continue (a
 * warning). No data never passes silently.
 */
export type RollingPhase =
  | 'starting-batch'
  | 'stopping-old'
  | 'monitoring'
  | 'waiting'
  | 'paused'
  | 'rolling-back'
  | 'succeeded'
  | 'failed'
  | 'aborted';

export interface RollingOptions {
  order: 'start-first' | 'stop-first';
  batchSize: number;
  delayMs: number;
  monitorMs: number;
  failureAction: 'rollback' | 'pause' | 'continue';
  maxFailureRatio: number;
  deployTimeoutMs: number;
  /** Absent in states persisted before it existed: pause. */
  onInconclusive?: 'pause' | 'fail' | 'continue';
}

export interface RollingState {
  phase: RollingPhase;
  releaseId: string;
  previousReleaseId: string;
  total: number;
  options: RollingOptions;
  batches: number[][];
  batchIndex: number;
  /** Indexes whose old instance is gone and whose new instance runs. */
  replaced: number[];
  failedInstances: number;
  /** Set when a rollback or an abort is under way: the outcome it ends with. */
  ending: { outcome: 'failed' | 'aborted'; error: { code: string; message: string } } | null;
  error: { code: string; message: string } | null;
  /** Paused on an inconclusive analysis: resume accepts the batch rather than retrying it. */
  pausedBy?: 'inconclusive' | null;
}

export type RollingEvent =
  | { type: 'batch-healthy'; batchIndex: number }
  | { type: 'batch-failed'; batchIndex: number; message: string }
  | { type: 'old-stopped'; batchIndex: number }
  | { type: 'monitor-passed'; batchIndex: number }
  | { type: 'monitor-inconclusive'; batchIndex: number; message: string }
  | { type: 'delay-elapsed'; batchIndex: number }
  | { type: 'rolled-back' }
  | { type: 'resume' }
  | { type: 'abort'; reason: string };

export type RollingCommand =
  /** Start (or restart) the new release's instances at these indexes and wait until they are healthy. */
  | { type: 'start-new'; batchIndex: number; indexes: number[]; deadline: number }
  /** Take the old instances at these indexes out of rotation, drain them, stop them. */
  | { type: 'stop-old'; batchIndex: number; indexes: number[] }
  /** Route: the old release with the new one as a weighted second target. */
  | { type: 'route'; newShare: number }
  | { type: 'monitor'; batchIndex: number; indexes: number[]; until: number }
  | { type: 'wait'; batchIndex: number; until: number }
  /** Start old instances at these indexes again, route everything to the old release, stop every new instance. */
  | { type: 'roll-back'; indexes: number[] }
  | { type: 'promote-release' }
  | { type: 'announce'; event: string; message: string }
  | { type: 'finish'; outcome: 'succeeded' | 'failed' | 'aborted'; error: { code: string; message: string } | null };

export interface RollingTransition {
  state: RollingState;
  commands: RollingCommand[];
}

export function planBatches(total: number, batchSize: number): number[][] {
  const batches: number[][] = [];
  for (let start = 0; start < total; start += batchSize) {
    batches.push(Array.from({ length: Math.min(batchSize, total - start) }, (_, i) => start + i));
  }
  return batches;
}

export function startRolling(
  input: { releaseId: string; previousReleaseId: string; total: number; options: RollingOptions },
  now: number,
): RollingTransition {
  const state: RollingState = {
    phase: 'starting-batch',
    releaseId: input.releaseId,
    previousReleaseId: input.previousReleaseId,
    total: input.total,
    options: input.options,
    batches: planBatches(input.total, Math.max(1, input.options.batchSize)),
    batchIndex: 0,
    replaced: [],
    failedInstances: 0,
    ending: null,
    error: null,
  };
  return enterBatch(state, 0, now);
}

const TERMINAL: ReadonlySet<RollingPhase> = new Set(['succeeded', 'failed', 'aborted']);

export function isRollingTerminal(phase: RollingPhase): boolean {
  return TERMINAL.has(phase);
}

function share(newCount: number, oldCount: number): number {
  const all = newCount + oldCount;
  return all === 0 ? 0 : Math.round((100 * newCount) / all);
}

function enterBatch(state: RollingState, index: number, now: number): RollingTransition {
  const indexes = state.batches[index];
  if (indexes === undefined) {
    return {
      state: { ...state, phase: 'succeeded' },
      commands: [{ type: 'promote-release' }, { type: 'finish', outcome: 'succeeded', error: null }],
    };
  }
  const announce: RollingCommand = {
    type: 'announce',
    event: 'rolling.batch',
    message: `batch ${index + 1}/${state.batches.length}: instance(s) ${indexes.join(', ')}`,
  };
  const next = { ...state, batchIndex: index };
  if (state.options.order === 'start-first') {
    return {
      state: { ...next, phase: 'starting-batch' },
      commands: [
        announce,
        { type: 'start-new', batchIndex: index, indexes, deadline: now + state.options.deployTimeoutMs },
      ],
    };
  }
  const oldLeft = state.total - state.replaced.length - indexes.length;
  return {
    state: { ...next, phase: 'stopping-old' },
    commands: [
      announce,
      { type: 'route', newShare: share(state.replaced.length, oldLeft) },
      { type: 'stop-old', batchIndex: index, indexes },
    ],
  };
}

function afterBatch(state: RollingState, now: number): RollingTransition {
  const last = state.batchIndex >= state.batches.length - 1;
  if (!last && state.options.delayMs > 0) {
    return {
      state: { ...state, phase: 'waiting' },
      commands: [{ type: 'wait', batchIndex: state.batchIndex, until: now + state.options.delayMs }],
    };
  }
  return enterBatch(state, state.batchIndex + 1, now);
}

function rollBack(
  state: RollingState,
  outcome: 'failed' | 'aborted',
  error: { code: string; message: string },
): RollingTransition {
  // stop-first replaces the old instances of the current batch before the new ones exist: bring those back too.
  const current = state.batches[state.batchIndex] ?? [];
  const oldGone = state.options.order === 'stop-first' && state.phase === 'starting-batch' ? current : [];
  const indexes = [...new Set([...state.replaced, ...oldGone])].sort((a, b) => a - b);
  return {
    state: { ...state, phase: 'rolling-back', ending: { outcome, error } },
    commands: [
      { type: 'announce', event: 'rolling.rollback', message: `rolling back: ${error.message}` },
      { type: 'roll-back', indexes },
    ],
  };
}

function batchFailed(state: RollingState, message: string, now: number): RollingTransition {
  const indexes = state.batches[state.batchIndex] ?? [];
  const failedInstances = state.failedInstances + indexes.length;
  const next = { ...state, failedInstances };
  const tolerated = Math.floor(state.options.maxFailureRatio * state.total);
  const error = { code: 'ROLLING_BATCH_FAILED', message: `batch ${state.batchIndex + 1} failed: ${message}` };
  if (failedInstances <= tolerated || state.options.failureAction === 'continue') {
    const note: RollingCommand = {
      type: 'announce',
      event: 'rolling.batch-failed',
      message: addClause(error.message, `continuing (${failedInstances} of ${state.total} instance(s) failed)`),
    };
    if (state.phase === 'starting-batch' && state.options.order === 'start-first') {
      // The new instances run (the supervisor keeps restarting them); the old ones still go.
      return {
        state: { ...next, phase: 'stopping-old' },
        commands: [note, { type: 'stop-old', batchIndex: state.batchIndex, indexes }],
      };
    }
    if (state.phase === 'starting-batch') {
      const replaced = [...state.replaced, ...indexes];
      const t = afterBatch({ ...next, replaced }, now);
      return {
        state: t.state,
        commands: [
          note,
          { type: 'route', newShare: share(replaced.length, state.total - replaced.length) },
          ...t.commands,
        ],
      };
    }
    const t = afterBatch(next, now);
    return { state: t.state, commands: [note, ...t.commands] };
  }
  if (state.options.failureAction === 'pause') {
    return {
      state: { ...next, phase: 'paused', error },
      commands: [
        {
          type: 'announce',
          event: 'rolling.paused',
          message: addClause(error.message, 'paused: `cutover resume` retries the batch, `cutover abort` rolls back'),
        },
      ],
    };
  }
  return rollBack(next, 'failed', error);
}

function batchInconclusive(state: RollingState, message: string, now: number): RollingTransition {
  const what = `batch ${state.batchIndex + 1}'s analysis was inconclusive (${message})`;
  const policy = state.options.onInconclusive ?? 'pause';
  if (policy === 'fail') return batchFailed(state, `${what}; on_inconclusive: fail`, now);
  if (policy === 'continue') {
    const t = afterBatch(state, now);
    return {
      state: t.state,
      commands: [
        { type: 'announce', event: 'rolling.inconclusive', message: `${what}; on_inconclusive: continue goes on` },
        ...t.commands,
      ],
    };
  }
  return {
    state: { ...state, phase: 'paused', pausedBy: 'inconclusive' },
    commands: [
      {
        type: 'announce',
        event: 'rolling.paused',
        message: `${what}; paused for a person: \`cutover resume\` accepts the batch and goes on, \`cutover abort\` rolls back`,
      },
    ],
  };
}

export function rollingTransition(state: RollingState, event: RollingEvent, now: number): RollingTransition {
  const same: RollingTransition = { state, commands: [] };
  if (isRollingTerminal(state.phase)) return same;
  if (state.phase === 'rolling-back') {
    if (event.type !== 'rolled-back' || state.ending === null) return same;
    return {
      state: { ...state, phase: state.ending.outcome, error: state.ending.error },
      commands: [{ type: 'finish', outcome: state.ending.outcome, error: state.ending.error }],
    };
  }
  if (event.type === 'abort') return rollBack(state, 'aborted', { code: 'DEPLOY_ABORTED', message: event.reason });
  if ('batchIndex' in event && event.batchIndex !== state.batchIndex) return same;

  switch (event.type) {
    case 'batch-healthy': {
      if (state.phase !== 'starting-batch') return same;
      const indexes = state.batches[state.batchIndex] ?? [];
      if (state.options.order === 'start-first') {
        const newCount = state.replaced.length + indexes.length;
        return {
          state: { ...state, phase: 'stopping-old' },
          commands: [
            { type: 'route', newShare: share(newCount, state.total - newCount) },
            { type: 'stop-old', batchIndex: state.batchIndex, indexes },
          ],
        };
      }
      const replaced = [...state.replaced, ...indexes];
      return {
        state: { ...state, phase: 'monitoring', replaced },
        commands: [
          { type: 'route', newShare: share(replaced.length, state.total - replaced.length) },
          { type: 'monitor', batchIndex: state.batchIndex, indexes, until: now + state.options.monitorMs },
        ],
      };
    }
    case 'old-stopped': {
      if (state.phase !== 'stopping-old') return same;
      const indexes = state.batches[state.batchIndex] ?? [];
      if (state.options.order === 'stop-first') {
        return {
          state: { ...state, phase: 'starting-batch' },
          commands: [
            { type: 'start-new', batchIndex: state.batchIndex, indexes, deadline: now + state.options.deployTimeoutMs },
          ],
        };
      }
      const replaced = [...new Set([...state.replaced, ...indexes])];
      return {
        state: { ...state, phase: 'monitoring', replaced },
        commands: [{ type: 'monitor', batchIndex: state.batchIndex, indexes, until: now + state.options.monitorMs }],
      };
    }
    case 'batch-failed':
      if (state.phase !== 'starting-batch' && state.phase !== 'monitoring') return same;
      return batchFailed(state, event.message, now);
    case 'monitor-passed':
      return state.phase === 'monitoring' ? afterBatch(state, now) : same;
    case 'monitor-inconclusive':
      return state.phase === 'monitoring' ? batchInconclusive(state, event.message, now) : same;
    case 'delay-elapsed':
      return state.phase === 'waiting' ? enterBatch(state, state.batchIndex + 1, now) : same;
    case 'resume':
      if (state.phase !== 'paused') return same;
      // A person vouches for a batch its analysis could not judge: it is done, the update goes on.
      if (state.pausedBy === 'inconclusive') return afterBatch({ ...state, error: null, pausedBy: null }, now);
      return enterBatch({ ...state, error: null }, state.batchIndex, now);
    default:
      return same;
  }
}
