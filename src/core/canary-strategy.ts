import type { Slot } from './slot.js';

/** One canary step: set the weight, then hold it for `pauseMs` (null: until `cutover promote`) while its analysis runs. */
export interface CanaryStepConfig {
  /** Percent of traffic (0-100) sent to the canary during this step. */
  weight: number;
  pauseMs: number | null;
  /** Names of analysis templates run during this step. */
  analysis: string[];
  /** After the step (and its analysis), wait for `cutover approve`; recorded with who approved. */
  approval?: boolean;
}

/**
 * Canary as a pure state machine: (state, event, now) → (state, commands).
 *
 *   starting → verifying → step 0 (weight w0, pause, analysis) → step 1 → … → step n (weight 100)
 *     → promoted: the canary becomes the active release, the stable is kept as standby
 *     → post-promotion window (optional) → succeeded
 *
 * - A failed analysis (any run, at any moment) aborts: weight 0 at once, canary
 *   stopped; after promotion it rolls back to the stable release instead.
 * - An inconclusive analysis pauses for a person (`promote` / `resume` / `abort`).
 * - `pause` freezes the step's timer; `resume` continues with the time left.
 * - The weight only rises while the rollout goes well, and a restart resumes
 *   at the persisted step's weight, never higher.
 */
export type CanaryPhase =
  | 'starting'
  | 'verifying'
  | 'stepping'
  | 'paused'
  | 'concluding'
  | 'post-promotion'
  | 'succeeded'
  | 'failed'
  | 'aborted'
  | 'rolled-back';

export type PauseReason = 'step' | 'user' | 'inconclusive' | 'approval';

export interface CanaryState {
  phase: CanaryPhase;
  releaseId: string;
  stableReleaseId: string | null;
  slot: Slot;
  steps: CanaryStepConfig[];
  /** -1 until the canary is healthy. */
  stepIndex: number;
  /** The weight the router was last told; restored as is after a restart. */
  weight: number;
  /** When the current step's pause ends; null while paused or for an indefinite pause. */
  stepEndsAt: number | null;
  /** Time left of the step when it was paused, to resume with. */
  remainingMs: number | null;
  pausedBy: PauseReason | null;
  /** Epoch ms by which every canary instance must be healthy. */
  deadline: number;
  backgroundAnalysis: string[];
  postPromotion: { windowMs: number; analysis: string[] } | null;
  promoted: boolean;
  error: { code: string; message: string } | null;
}

export type CanaryEvent =
  | { type: 'instances-started' }
  | { type: 'start-failed'; code: string; message: string }
  | { type: 'all-healthy' }
  | { type: 'instance-exited'; message: string }
  | { type: 'deadline-passed'; message: string }
  /** Every new instance failed its health threshold after the start period: nothing left to wait for. */
  | { type: 'health-failed'; message: string }
  /** The current step's pause is over (stale timers carry another step index and are ignored). */
  | { type: 'step-elapsed'; stepIndex: number }
  /** The controller ended the step's analysis runs; their combined phase. */
  | { type: 'step-concluded'; stepIndex: number; phase: 'Successful' | 'Failed' | 'Inconclusive' }
  /** A run (step, background or post-promotion) reached a verdict on its own. */
  | { type: 'analysis-failed'; message: string }
  | { type: 'analysis-inconclusive'; message: string }
  | { type: 'window-elapsed' }
  | { type: 'promote'; full: boolean }
  /** A person approved the step that waits for approval (steps[i].approval). */
  | { type: 'approve'; actor: string }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'abort'; reason: string };

export type CanaryCommand =
  | { type: 'start-instances' }
  | { type: 'await-health'; deadline: number }
  | { type: 'set-weight'; weight: number }
  | { type: 'start-analysis'; scope: 'step' | 'background' | 'post-promotion'; templates: string[]; stepIndex: number }
  /** Ends the step's runs now (the step's time is up or it was promoted) and reports `step-concluded`. */
  | { type: 'conclude-step'; stepIndex: number }
  | { type: 'stop-analysis'; scope: 'step' | 'all' }
  | { type: 'schedule-step-end'; stepIndex: number; at: number }
  | { type: 'schedule-window-end'; at: number }
  /** The canary becomes the active release; the stable goes to standby (kept for the rollback window). */
  | { type: 'promote-release' }
  /** After promotion: traffic back to the stable release. */
  | { type: 'roll-back' }
  | { type: 'stop-canary' }
  | { type: 'announce'; event: string; message: string }
  | { type: 'finish'; outcome: 'succeeded' | 'failed' | 'aborted'; error: { code: string; message: string } | null };

export interface CanaryStart {
  releaseId: string;
  stableReleaseId: string | null;
  slot: Slot;
  steps: CanaryStepConfig[];
  backgroundAnalysis: string[];
  postPromotion: { windowMs: number; analysis: string[] } | null;
  deployTimeoutMs: number;
}

export interface CanaryTransition {
  state: CanaryState;
  commands: CanaryCommand[];
}

export function startCanary(input: CanaryStart, now: number): CanaryTransition {
  // Without a stable release there is nobody to compare with or fall back to: one step at 100%.
  const steps = input.stableReleaseId === null ? [{ weight: 100, pauseMs: 0, analysis: [] }] : input.steps;
  return {
    state: {
      phase: 'starting',
      releaseId: input.releaseId,
      stableReleaseId: input.stableReleaseId,
      slot: input.slot,
      steps,
      stepIndex: -1,
      weight: 0,
      stepEndsAt: null,
      remainingMs: null,
      pausedBy: null,
      deadline: now + input.deployTimeoutMs,
      backgroundAnalysis: input.backgroundAnalysis,
      postPromotion: input.stableReleaseId === null ? null : input.postPromotion,
      promoted: false,
      error: null,
    },
    commands: [{ type: 'start-instances' }],
  };
}

const TERMINAL: ReadonlySet<CanaryPhase> = new Set(['succeeded', 'failed', 'aborted', 'rolled-back']);

export function isCanaryTerminal(phase: CanaryPhase): boolean {
  return TERMINAL.has(phase);
}

/** Before promotion, failing is free: the stable release still has its traffic share back at once. */
function abortRollout(
  state: CanaryState,
  outcome: 'failed' | 'aborted',
  code: string,
  message: string,
): CanaryTransition {
  const error = { code, message };
  if (state.promoted) {
    return {
      state: { ...state, phase: 'rolled-back', error, stepEndsAt: null },
      commands: [
        { type: 'stop-analysis', scope: 'all' },
        { type: 'roll-back' },
        { type: 'finish', outcome: 'failed', error },
      ],
    };
  }
  const commands: CanaryCommand[] = [];
  if (state.weight > 0) commands.push({ type: 'set-weight', weight: 0 });
  commands.push({ type: 'stop-analysis', scope: 'all' }, { type: 'stop-canary' }, { type: 'finish', outcome, error });
  return { state: { ...state, phase: outcome, weight: 0, error, stepEndsAt: null }, commands };
}

function enterStep(state: CanaryState, index: number, now: number): CanaryTransition {
  const step = state.steps[index];
  if (step === undefined || step.weight >= 100) return promote(state, now);
  const commands: CanaryCommand[] = [{ type: 'set-weight', weight: step.weight }];
  if (index === 0 && state.backgroundAnalysis.length > 0) {
    commands.push({
      type: 'start-analysis',
      scope: 'background',
      templates: state.backgroundAnalysis,
      stepIndex: index,
    });
  }
  if (step.analysis.length > 0)
    commands.push({ type: 'start-analysis', scope: 'step', templates: step.analysis, stepIndex: index });
  commands.push({
    type: 'announce',
    event: 'canary.step',
    message:
      `step ${index + 1}/${state.steps.length}: ${step.weight}% of traffic to the canary` +
      (step.pauseMs === null ? ', waiting for promote' : `, for ${Math.round(step.pauseMs / 1000)} s`),
  });
  const next: CanaryState = {
    ...state,
    stepIndex: index,
    weight: step.weight,
    remainingMs: null,
    pausedBy: null,
    stepEndsAt: null,
  };
  if (step.pauseMs === null) return { state: { ...next, phase: 'paused', pausedBy: 'step' }, commands };
  const at = now + step.pauseMs;
  commands.push({ type: 'schedule-step-end', stepIndex: index, at });
  return { state: { ...next, phase: 'stepping', stepEndsAt: at }, commands };
}

function promote(state: CanaryState, now: number): CanaryTransition {
  const commands: CanaryCommand[] = [{ type: 'stop-analysis', scope: 'step' }, { type: 'promote-release' }];
  const next: CanaryState = {
    ...state,
    weight: 100,
    promoted: true,
    stepIndex: state.steps.length - 1,
    stepEndsAt: null,
    pausedBy: null,
    remainingMs: null,
  };
  if (state.postPromotion && state.postPromotion.windowMs > 0) {
    const at = now + state.postPromotion.windowMs;
    if (state.postPromotion.analysis.length > 0) {
      commands.push({
        type: 'start-analysis',
        scope: 'post-promotion',
        templates: state.postPromotion.analysis,
        stepIndex: next.stepIndex,
      });
    }
    commands.push({ type: 'schedule-window-end', at });
    return { state: { ...next, phase: 'post-promotion', stepEndsAt: at }, commands };
  }
  commands.push({ type: 'stop-analysis', scope: 'all' }, { type: 'finish', outcome: 'succeeded', error: null });
  return { state: { ...next, phase: 'succeeded' }, commands };
}

export function canaryTransition(state: CanaryState, event: CanaryEvent, now: number): CanaryTransition {
  const same: CanaryTransition = { state, commands: [] };
  if (isCanaryTerminal(state.phase)) return same;

  switch (event.type) {
    case 'abort':
      return abortRollout(state, 'aborted', 'DEPLOY_ABORTED', event.reason);
    case 'analysis-failed':
      if (state.phase === 'starting' || state.phase === 'verifying') return same;
      return abortRollout(state, 'failed', 'ANALYSIS_FAILED', event.message);
    case 'start-failed':
      return state.phase === 'starting' ? abortRollout(state, 'failed', event.code, event.message) : same;
    case 'instance-exited':
      return state.promoted ? same : abortRollout(state, 'failed', 'INSTANCE_EXITED', event.message);
    case 'deadline-passed':
      return state.phase === 'verifying' ? abortRollout(state, 'failed', 'HEALTH_TIMEOUT', event.message) : same;
    case 'health-failed':
      return state.phase === 'verifying' ? abortRollout(state, 'failed', 'HEALTH_FAILED', event.message) : same;
    case 'instances-started':
      return state.phase === 'starting'
        ? { state: { ...state, phase: 'verifying' }, commands: [{ type: 'await-health', deadline: state.deadline }] }
        : same;
    case 'all-healthy':
      return state.phase === 'verifying' ? enterStep(state, 0, now) : same;
    case 'analysis-inconclusive':
      if (state.phase !== 'stepping' && state.phase !== 'post-promotion') return same;
      if (state.phase === 'post-promotion') {
        // The release is live already; an undecided check after promotion is reported, not acted on.
        return { state, commands: [{ type: 'announce', event: 'analysis.inconclusive', message: event.message }] };
      }
      return {
        state: {
          ...state,
          phase: 'paused',
          pausedBy: 'inconclusive',
          remainingMs: remaining(state, now),
          stepEndsAt: null,
        },
        commands: [{ type: 'announce', event: 'canary.paused', message: `paused for a person: ${event.message}` }],
      };
    case 'step-elapsed':
      if (state.phase !== 'stepping' || event.stepIndex !== state.stepIndex) return same;
      return {
        state: { ...state, phase: 'concluding', stepEndsAt: null },
        commands: [{ type: 'conclude-step', stepIndex: state.stepIndex }],
      };
    case 'step-concluded':
      if (state.phase !== 'concluding' || event.stepIndex !== state.stepIndex) return same;
      if (event.phase === 'Failed')
        return abortRollout(state, 'failed', 'ANALYSIS_FAILED', `the analysis of step ${state.stepIndex + 1} failed`);
      if (event.phase === 'Inconclusive') {
        return {
          state: { ...state, phase: 'paused', pausedBy: 'inconclusive', remainingMs: 0 },
          commands: [
            {
              type: 'announce',
              event: 'canary.paused',
              message: `step ${state.stepIndex + 1}'s analysis was inconclusive: waiting for promote or abort`,
            },
          ],
        };
      }
      if (state.steps[state.stepIndex]?.approval) {
        return {
          state: { ...state, phase: 'paused', pausedBy: 'approval', remainingMs: 0 },
          commands: [
            {
              type: 'announce',
              event: 'approval.waiting',
              message: `step ${state.stepIndex + 1} at ${state.weight}% is done: waiting for approval (cutover approve)`,
            },
          ],
        };
      }
      return enterStep(state, state.stepIndex + 1, now);
    case 'approve': {
      if (state.phase !== 'paused' || state.pausedBy !== 'approval') return same;
      const next = enterStep({ ...state, pausedBy: null }, state.stepIndex + 1, now);
      return {
        state: next.state,
        commands: [
          {
            type: 'announce',
            event: 'deploy.approved',
            message: `step ${state.stepIndex + 1} approved by ${event.actor}`,
          },
          ...next.commands,
        ],
      };
    }
    case 'window-elapsed':
      if (state.phase !== 'post-promotion') return same;
      return {
        state: { ...state, phase: 'succeeded', stepEndsAt: null },
        commands: [
          { type: 'stop-analysis', scope: 'all' },
          { type: 'finish', outcome: 'succeeded', error: null },
        ],
      };
    case 'promote':
      if (state.promoted || (state.phase !== 'stepping' && state.phase !== 'paused' && state.phase !== 'concluding'))
        return same;
      // A gate that needs an approval is passed by `approve` only, so the approver is on record.
      if (state.pausedBy === 'approval') return same;
      if (event.full) return promote(state, now);
      // A person's promote skips the rest of the step: its analysis is ended and judged first.
      return {
        state: { ...state, phase: 'concluding', stepEndsAt: null, pausedBy: null },
        commands: [{ type: 'conclude-step', stepIndex: state.stepIndex }],
      };
    case 'pause':
      if (state.phase !== 'stepping') return same;
      return {
        state: { ...state, phase: 'paused', pausedBy: 'user', remainingMs: remaining(state, now), stepEndsAt: null },
        commands: [{ type: 'announce', event: 'canary.paused', message: `paused at ${state.weight}%` }],
      };
    case 'resume': {
      if (state.phase !== 'paused' || state.pausedBy === 'step' || state.pausedBy === 'approval') return same;
      const left = state.remainingMs ?? 0;
      const at = now + left;
      return {
        state: { ...state, phase: 'stepping', pausedBy: null, remainingMs: null, stepEndsAt: at },
        commands: [
          { type: 'announce', event: 'canary.resumed', message: `resumed at ${state.weight}%` },
          { type: 'schedule-step-end', stepIndex: state.stepIndex, at },
        ],
      };
    }
  }
}

function remaining(state: CanaryState, now: number): number {
  return state.stepEndsAt === null ? 0 : Math.max(0, state.stepEndsAt - now);
}
