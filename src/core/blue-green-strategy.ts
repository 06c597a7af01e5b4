import type { Slot } from './slot.js';

/**
 * Blue-green as a pure state machine: (state, event) → (state, commands).
 * The controller executes the commands against the runtime and router and
 * feeds what happened back as events; it persists the state after every
 * transition, so a restart knows whether traffic had already moved.
 *
 *   starting ──instances-started──▶ verifying ──all-healthy──▶ smoke ──smoke-passed──▶ ready ──promote──▶ switching ──switched──▶ succeeded
 *       │                              │                          │                     │ (auto_switch skips ready)
 *       └──────────── start-failed / instance-exited / deadline-passed / health-failed / smoke-failed ──▶ failed      abort ──▶ aborted
 *
 *   switching ──switched (post_promotion)──▶ watching ──window-elapsed──▶ succeeded
 *                                               ├──finish-window──▶ succeeded (a person keeps the release early)
 *                                               ├──analysis-failed / abort-after-switch──▶ rolled-back (switch back)
 *                                               └──rollback-requested──▶ rolled-back (the rollback switches)
 *
 * Invariant: traffic moves only in `switching`, and only after every new
 * instance passed its health check (or the user asked for --skip-health).
 */
export type BlueGreenPhase =
  | 'starting'
  | 'verifying'
  | 'smoke'
  | 'analysing'
  | 'ready'
  | 'switching'
  | 'watching'
  | 'succeeded'
  | 'failed'
  | 'aborted'
  | 'rolled-back';

export interface BlueGreenState {
  phase: BlueGreenPhase;
  releaseId: string;
  slot: Slot;
  previousReleaseId: string | null;
  autoSwitch: boolean;
  autoCleanup: boolean;
  skipHealth: boolean;
  smokeChecks: number;
  /** Epoch ms by which every new instance must be healthy. */
  deadline: number;
  /** After the switch: analysis for a window; a failure switches back to the previous release. */
  postPromotion: { windowMs: number; analysis: string[] } | null;
  /** Before the switch: analysis of the new release for a window. */
  prePromotion: { windowMs: number; analysis: string[] } | null;
  /** Absent in states persisted before approval gates existed. */
  approval?: boolean;
  error: { code: string; message: string } | null;
}

export type BlueGreenEvent =
  | { type: 'instances-started' }
  | { type: 'start-failed'; code: string; message: string }
  | { type: 'all-healthy' }
  | { type: 'instance-exited'; message: string }
  | { type: 'deadline-passed'; message: string }
  /** Every new instance failed its health threshold after the start period: nothing left to wait for. */
  | { type: 'health-failed'; message: string }
  | { type: 'smoke-passed' }
  | { type: 'smoke-failed'; message: string }
  | { type: 'promote' }
  | { type: 'switched' }
  /** The router refused or could not apply the new route (nginx -t, reload); the old route still serves. */
  | { type: 'switch-failed'; code: string; message: string }
  | { type: 'analysis-failed'; message: string }
  | { type: 'pre-analysis-concluded'; phase: 'Successful' | 'Failed' | 'Inconclusive'; message: string }
  | { type: 'window-elapsed' }
  /** A person rolls back during the post-promotion window: the watch ends here and the rollback moves traffic. */
  | { type: 'rollback-requested'; reason: string }
  /** A person aborts during the post-promotion window: traffic goes back to the previous release at once. */
  | { type: 'abort-after-switch'; reason: string }
  /** A person ends the post-promotion window early, keeping the new release (`cutover finish`). */
  | { type: 'finish-window' }
  | { type: 'abort'; reason: string };

export type BlueGreenCommand =
  | { type: 'start-instances' }
  | { type: 'await-health'; deadline: number }
  | { type: 'run-smoke' }
  | { type: 'switch-traffic' }
  | { type: 'retire-previous'; immediately: boolean }
  /** Run the pre-promotion analysis for its window (or until it fails) and report pre-analysis-concluded. */
  | { type: 'analyse'; windowMs: number; templates: string[] }
  /** Start the post-promotion analysis and its window timer. */
  | { type: 'watch'; windowMs: number; templates: string[] }
  | { type: 'stop-analysis' }
  /** Traffic back to the previous release (still running in its slot), the new one stopped. */
  | { type: 'switch-back' }
  | { type: 'stop-new-release' }
  | { type: 'announce'; event: string; message: string }
  | { type: 'finish'; outcome: 'succeeded' | 'failed' | 'aborted'; error: { code: string; message: string } | null };

export interface BlueGreenStart {
  releaseId: string;
  slot: Slot;
  previousReleaseId: string | null;
  autoSwitch: boolean;
  autoCleanup: boolean;
  skipHealth: boolean;
  smokeChecks: number;
  deployTimeoutMs: number;
  postPromotion?: { windowMs: number; analysis: string[] } | null;
  prePromotion?: { windowMs: number; analysis: string[] } | null;
  /** The switch waits for an approval (the controller only lets `approve` promote it). */
  approval?: boolean;
}

export interface Transition {
  state: BlueGreenState;
  commands: BlueGreenCommand[];
}

export function startBlueGreen(input: BlueGreenStart, now: number): Transition {
  const state: BlueGreenState = {
    phase: 'starting',
    releaseId: input.releaseId,
    slot: input.slot,
    previousReleaseId: input.previousReleaseId,
    autoSwitch: input.autoSwitch,
    autoCleanup: input.autoCleanup,
    skipHealth: input.skipHealth,
    smokeChecks: input.smokeChecks,
    deadline: now + input.deployTimeoutMs,
    postPromotion: input.previousReleaseId === null ? null : (input.postPromotion ?? null),
    prePromotion: input.prePromotion ?? null,
    ...(input.approval ? { approval: true, autoSwitch: false } : {}),
    error: null,
  };
  return { state, commands: [{ type: 'start-instances' }] };
}

const TERMINAL: ReadonlySet<BlueGreenPhase> = new Set(['succeeded', 'failed', 'aborted', 'rolled-back']);
/** Phases in which traffic has not moved, so failing or aborting is free. */
const BEFORE_SWITCH: ReadonlySet<BlueGreenPhase> = new Set(['starting', 'verifying', 'smoke', 'analysing', 'ready']);

export function isTerminal(phase: BlueGreenPhase): boolean {
  return TERMINAL.has(phase);
}

export function isBeforeSwitch(phase: BlueGreenPhase): boolean {
  return BEFORE_SWITCH.has(phase);
}

function fail(state: BlueGreenState, code: string, message: string): Transition {
  const error = { code, message };
  return {
    state: { ...state, phase: 'failed', error },
    commands: [{ type: 'stop-new-release' }, { type: 'finish', outcome: 'failed', error }],
  };
}

/** After health and smoke checks: the pre-promotion analysis, if any, then the switch. */
function checked(state: BlueGreenState): Transition {
  if (state.prePromotion !== null && state.prePromotion.analysis.length > 0) {
    return {
      state: { ...state, phase: 'analysing' },
      commands: [{ type: 'analyse', windowMs: state.prePromotion.windowMs, templates: state.prePromotion.analysis }],
    };
  }
  return verified(state);
}

/** After health (and smoke) passed: switch now, or wait for promote. */
function verified(state: BlueGreenState): Transition {
  if (state.autoSwitch) {
    return { state: { ...state, phase: 'switching' }, commands: [{ type: 'switch-traffic' }] };
  }
  return {
    state: { ...state, phase: 'ready' },
    commands: [
      {
        type: 'announce',
        event: 'deploy.ready',
        message: `release ${state.releaseId} is healthy in slot ${state.slot}; ${state.approval ? 'waiting for approval (cutover approve)' : 'waiting for promote'}`,
      },
    ],
  };
}

function healthy(state: BlueGreenState): Transition {
  if (state.smokeChecks > 0) return { state: { ...state, phase: 'smoke' }, commands: [{ type: 'run-smoke' }] };
  return checked(state);
}

/**
 * The commands that take a `watching` deploy back after a controller restart:
 * the post-promotion analysis for what is left of its window (which began at
 * the switch), or the window's end at once if it passed while the controller
 * was down. The previous release is still standby, so a failure can still
 * switch back.
 */
export function resumeWatching(state: BlueGreenState, switchedAt: number, now: number): Transition {
  if (state.phase !== 'watching' || state.postPromotion === null) return { state, commands: [] };
  const remaining = switchedAt + state.postPromotion.windowMs - now;
  if (remaining <= 0) return blueGreenTransition(state, { type: 'window-elapsed' });
  return { state, commands: [{ type: 'watch', windowMs: remaining, templates: state.postPromotion.analysis }] };
}

export function blueGreenTransition(state: BlueGreenState, event: BlueGreenEvent): Transition {
  const same: Transition = { state, commands: [] };
  if (isTerminal(state.phase)) return same;

  if (event.type === 'abort') {
    if (!isBeforeSwitch(state.phase)) return same;
    const error = { code: 'DEPLOY_ABORTED', message: event.reason };
    return {
      state: { ...state, phase: 'aborted', error },
      commands: [{ type: 'stop-new-release' }, { type: 'finish', outcome: 'aborted', error }],
    };
  }

  switch (state.phase) {
    case 'starting':
      if (event.type === 'start-failed') return fail(state, event.code, event.message);
      if (event.type === 'instance-exited') return fail(state, 'INSTANCE_EXITED', event.message);
      if (event.type === 'instances-started') {
        if (state.skipHealth) return healthy({ ...state, phase: 'verifying' });
        return {
          state: { ...state, phase: 'verifying' },
          commands: [{ type: 'await-health', deadline: state.deadline }],
        };
      }
      return same;
    case 'verifying':
      if (event.type === 'all-healthy') return healthy(state);
      if (event.type === 'instance-exited') return fail(state, 'INSTANCE_EXITED', event.message);
      if (event.type === 'deadline-passed') return fail(state, 'HEALTH_TIMEOUT', event.message);
      if (event.type === 'health-failed') return fail(state, 'HEALTH_FAILED', event.message);
      return same;
    case 'smoke':
      if (event.type === 'smoke-passed') return checked(state);
      if (event.type === 'smoke-failed') return fail(state, 'SMOKE_FAILED', event.message);
      if (event.type === 'instance-exited') return fail(state, 'INSTANCE_EXITED', event.message);
      return same;
    case 'analysing':
      if (event.type === 'instance-exited') return fail(state, 'INSTANCE_EXITED', event.message);
      if (event.type !== 'pre-analysis-concluded') return same;
      if (event.phase === 'Failed') return fail(state, 'ANALYSIS_FAILED', `before the switch: ${event.message}`);
      if (event.phase === 'Inconclusive') {
        return {
          state: { ...state, phase: 'ready' },
          commands: [
            {
              type: 'announce',
              event: 'deploy.ready',
              message: `the analysis before the switch was inconclusive (${event.message}); waiting for a person's promote`,
            },
          ],
        };
      }
      return verified(state);
    case 'ready':
      if (event.type === 'promote')
        return { state: { ...state, phase: 'switching' }, commands: [{ type: 'switch-traffic' }] };
      if (event.type === 'instance-exited') return fail(state, 'INSTANCE_EXITED', event.message);
      return same;
    case 'switching':
      if (event.type === 'switched' && state.postPromotion !== null && state.postPromotion.windowMs > 0) {
        return {
          state: { ...state, phase: 'watching' },
          commands: [
            { type: 'watch', windowMs: state.postPromotion.windowMs, templates: state.postPromotion.analysis },
          ],
        };
      }
      if (event.type === 'switched') {
        return {
          state: { ...state, phase: 'succeeded' },
          commands: [
            { type: 'retire-previous', immediately: state.autoCleanup },
            { type: 'finish', outcome: 'succeeded', error: null },
          ],
        };
      }
      if (event.type === 'switch-failed') return fail(state, event.code, event.message);
      return same;
    case 'watching':
      if (event.type === 'window-elapsed' || event.type === 'finish-window') {
        return {
          state: { ...state, phase: 'succeeded' },
          commands: [
            { type: 'stop-analysis' },
            { type: 'retire-previous', immediately: state.autoCleanup },
            { type: 'finish', outcome: 'succeeded', error: null },
          ],
        };
      }
      if (event.type === 'rollback-requested') {
        const error = { code: 'DEPLOY_ABORTED', message: event.reason };
        return {
          state: { ...state, phase: 'rolled-back', error },
          commands: [{ type: 'stop-analysis' }, { type: 'finish', outcome: 'aborted', error }],
        };
      }
      if (event.type === 'abort-after-switch') {
        const error = { code: 'DEPLOY_ABORTED', message: event.reason };
        return {
          state: { ...state, phase: 'rolled-back', error },
          commands: [{ type: 'stop-analysis' }, { type: 'switch-back' }, { type: 'finish', outcome: 'aborted', error }],
        };
      }
      if (event.type === 'analysis-failed') {
        const error = { code: 'ANALYSIS_FAILED', message: `after the switch: ${event.message}` };
        return {
          state: { ...state, phase: 'rolled-back', error },
          commands: [{ type: 'stop-analysis' }, { type: 'switch-back' }, { type: 'finish', outcome: 'failed', error }],
        };
      }
      return same;
    default:
      return same;
  }
}
