import { evaluateCondition, mentionsNaN, parseCondition, type Condition } from './condition.js';

/**
 * One metric check of a canary step as a pure state machine, with the
 * semantics of Argo Rollouts' AnalysisRun:
 *
 * - each measurement (a provider's value, or the provider's error) gets a
 *   phase: with no condition every value is `successful`; with only a success
 *   condition, false means `failed`; with only a failure condition, true means
 *   `failed`, and false means `successful`, unless the value is NaN and the
 *   condition does not name it with isNaN() or default() (no data:
 *   `inconclusive`, where Argo would pass it); with both, the failure condition wins, and a value that meets
 *   neither is `inconclusive`; a provider error or a condition that cannot be
 *   evaluated (a missing field) is `error`;
 * - the run becomes `Failed` once failed measurements exceed failureLimit,
 *   `Inconclusive` once inconclusive ones exceed inconclusiveLimit or
 *   consecutive errors exceed consecutiveErrorLimit (the provider is broken:
 *   a human decides), and `Successful` once `count` measurements that were not
 *   errors are taken without either; errors do not count towards `count`;
 * - with `count: null` it runs until the step ends (endRun).
 *
 * No clock and no timers: the controller asks nextDueAt, measures, and passes
 * the time in. The state is plain JSON-able data holding every measurement,
 * so the release history can keep it and a restarted controller can go on.
 */
export type MeasurementPhase = 'successful' | 'failed' | 'inconclusive' | 'error';
export type RunPhase = 'Running' | 'Successful' | 'Failed' | 'Inconclusive';

export interface AnalysisRunConfig {
  name: string;
  intervalMs: number;
  /** Measurements to take (errors not counted); null: until the step ends. */
  count: number | null;
  /** Wait before the first measurement. Default 0: measure at once. */
  initialDelayMs?: number;
  successCondition?: string;
  failureCondition?: string;
  /** Failed measurements tolerated; one more fails the run. Default 0. */
  failureLimit?: number;
  /** Inconclusive measurements tolerated. Default 0. */
  inconclusiveLimit?: number;
  /** Consecutive errors tolerated. Default 4 (as Argo Rollouts). */
  consecutiveErrorLimit?: number;
}

export type ResolvedAnalysisRunConfig = Required<Omit<AnalysisRunConfig, 'successCondition' | 'failureCondition'>> &
  Pick<AnalysisRunConfig, 'successCondition' | 'failureCondition'>;

export const ANALYSIS_RUN_DEFAULTS = {
  initialDelayMs: 0,
  failureLimit: 0,
  inconclusiveLimit: 0,
  consecutiveErrorLimit: 4,
} as const;

export interface Measurement {
  at: number;
  /** The provider's value (a preview when it was larger than MAX_KEPT_VALUE_CHARS); null for an error. */
  value: unknown;
  phase: MeasurementPhase;
  message: string;
}

export type MeasurementInput = { at: number; value: unknown } | { at: number; error: string };

export interface AnalysisRunState {
  config: ResolvedAnalysisRunConfig;
  phase: RunPhase;
  /** Why the run is in its phase. */
  message: string;
  startedAt: number;
  finishedAt: number | null;
  measurements: Measurement[];
  successful: number;
  failed: number;
  inconclusive: number;
  errors: number;
  consecutiveErrors: number;
}

/** Starts a run; throws CutoverError ANALYSIS_CONDITION_INVALID for a bad condition, RangeError for bad numbers. */
export function startRun(config: AnalysisRunConfig, now: number): AnalysisRunState {
  const resolved: ResolvedAnalysisRunConfig = { ...ANALYSIS_RUN_DEFAULTS, ...withoutUndefined(config) };
  checkConfig(resolved);
  conditionsOf(resolved);
  return {
    config: resolved,
    phase: 'Running',
    message: 'waiting for the first measurement',
    startedAt: now,
    finishedAt: null,
    measurements: [],
    successful: 0,
    failed: 0,
    inconclusive: 0,
    errors: 0,
    consecutiveErrors: 0,
  };
}

/** When the next measurement is due; null once the run has finished. */
export function nextDueAt(state: AnalysisRunState): number | null {
  if (state.phase !== 'Running') return null;
  const last = state.measurements.at(-1);
  return last === undefined ? state.startedAt + state.config.initialDelayMs : last.at + state.config.intervalMs;
}

/** Records one measurement and moves the run on. A measurement after the run finished is ignored. */
export function recordMeasurement(state: AnalysisRunState, input: MeasurementInput): AnalysisRunState {
  if (state.phase !== 'Running') return state;
  const assessed =
    'error' in input
      ? { phase: 'error' as const, message: `measurement failed: ${input.error}` }
      : assessMeasurement(state.config, input.value);
  const measurement: Measurement = {
    at: input.at,
    value: 'error' in input ? null : keptValue(input.value),
    ...assessed,
  };
  const isError = assessed.phase === 'error';
  const next: AnalysisRunState = {
    ...state,
    measurements: [...state.measurements, measurement],
    successful: state.successful + (assessed.phase === 'successful' ? 1 : 0),
    failed: state.failed + (assessed.phase === 'failed' ? 1 : 0),
    inconclusive: state.inconclusive + (assessed.phase === 'inconclusive' ? 1 : 0),
    errors: state.errors + (isError ? 1 : 0),
    consecutiveErrors: isError ? state.consecutiveErrors + 1 : 0,
  };
  return assessRun(next, input.at);
}

/**
 * The step ended (or was cut short) before `count` was reached. Nothing
 * beyond the limits failed, or the run would have finished already, so it is
 * Successful, provided at least one measurement was not an error: a run that
 * never saw a value cannot vouch for the canary and ends Inconclusive.
 */
export function endRun(state: AnalysisRunState, now: number): AnalysisRunState {
  if (state.phase !== 'Running') return state;
  const taken = measured(state);
  if (taken === 0) {
    const why = state.errors > 0 ? `only errors (${state.errors})` : 'no measurement';
    return finish(state, 'Inconclusive', `the step ended with ${why}; nothing vouches for the release`, now);
  }
  return finish(
    state,
    'Successful',
    `the step ended after ${plural(taken, 'measurement')}, ${state.failed} failed`,
    now,
  );
}

/** The phase of several runs of one step: any Failed, else any Inconclusive, else all Successful, else Running. */
export function combineRuns(states: readonly AnalysisRunState[]): RunPhase {
  if (states.some((s) => s.phase === 'Failed')) return 'Failed';
  if (states.some((s) => s.phase === 'Inconclusive')) return 'Inconclusive';
  if (states.every((s) => s.phase === 'Successful')) return 'Successful';
  return 'Running';
}

/** The phase of one measured value under the run's conditions (Argo Rollouts' evaluateResult). */
export function assessMeasurement(
  config: Pick<AnalysisRunConfig, 'successCondition' | 'failureCondition'>,
  value: unknown,
): { phase: MeasurementPhase; message: string } {
  const { success, failure } = conditionsOf(config);
  if (!success && !failure) return { phase: 'successful', message: 'no condition: every value counts as successful' };
  const failed = failure && evaluateCondition(failure, value);
  if (failed && !failed.ok) return { phase: 'error', message: `failure condition: ${failed.error}` };
  const succeeded = success && evaluateCondition(success, value);
  if (succeeded && !succeeded.ok) return { phase: 'error', message: `success condition: ${succeeded.error}` };
  if (failed && failed.value) return { phase: 'failed', message: `failure condition ${failure.source} is true` };
  if (succeeded && succeeded.value)
    return { phase: 'successful', message: `success condition ${success.source} is true` };
  if (!failure) return { phase: 'failed', message: `success condition ${success!.source} is false` };
  // NaN is what Prometheus gives for no data (an error ratio over no requests is 0/0), and every comparison
  // with it is false: `result > 0.05` would vouch for a canary nobody reached. No data never passes, as with
  // the builtin metrics; a condition that names it (isNaN(result), default(result, 0)) still decides.
  if (!success && isNaNValue(value) && !mentionsNaN(failure))
    return {
      phase: 'inconclusive',
      message: `the value is NaN (no data, like an error ratio over no requests), and ${failure.source} being false does not vouch for it; say what NaN means with isNaN(result) or default(result, 0)`,
    };
  if (!success) return { phase: 'successful', message: `failure condition ${failure.source} is false` };
  return { phase: 'inconclusive', message: `neither ${success.source} nor ${failure.source} is true` };
}

/**
 * A value is judged whole but kept only up to this size (as JSON). A web
 * metric may answer up to 1 MiB and a command 64 KiB; every measurement is
 * kept in the run, recorded as an event and sent to the dashboard, so a
 * json_path that points at a large document (or an endpoint that answers
 * one on purpose) every interval grew the server's memory and state
 * database by that much each time.
 */
export const MAX_KEPT_VALUE_CHARS = 4096;

function keptValue(value: unknown): unknown {
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return value;
  const json = JSON.stringify(value) as string | undefined;
  if (json === undefined || json.length <= MAX_KEPT_VALUE_CHARS) return value;
  return { truncated: `${json.slice(0, 200)}...`, chars: json.length };
}

function isNaNValue(value: unknown): boolean {
  return typeof value === 'number' && Number.isNaN(value);
}

function assessRun(state: AnalysisRunState, now: number): AnalysisRunState {
  const { config } = state;
  if (state.failed > config.failureLimit) {
    return finish(
      state,
      'Failed',
      `${plural(state.failed, 'measurement')} failed, more than the failure limit of ${config.failureLimit}`,
      now,
    );
  }
  if (state.inconclusive > config.inconclusiveLimit) {
    return finish(
      state,
      'Inconclusive',
      `${plural(state.inconclusive, 'measurement')} inconclusive, more than the inconclusive limit of ${config.inconclusiveLimit}`,
      now,
    );
  }
  if (state.consecutiveErrors > config.consecutiveErrorLimit) {
    const last = state.measurements.at(-1)?.message ?? '';
    return finish(
      state,
      'Inconclusive',
      `${state.consecutiveErrors} consecutive errors, more than the limit of ${config.consecutiveErrorLimit} (last: ${last})`,
      now,
    );
  }
  const taken = measured(state);
  if (config.count !== null && taken >= config.count) {
    return finish(state, 'Successful', `${taken} of ${config.count} measurements taken, ${state.failed} failed`, now);
  }
  const last = state.measurements.at(-1);
  return { ...state, message: last ? `${taken} measured, last ${last.phase}: ${last.message}` : state.message };
}

function finish(state: AnalysisRunState, phase: RunPhase, message: string, now: number): AnalysisRunState {
  return { ...state, phase, message, finishedAt: now };
}

function measured(state: AnalysisRunState): number {
  return state.successful + state.failed + state.inconclusive;
}

/** Parsed once per call: a few microseconds, and the state keeps only the source text. */
function conditionsOf(config: Pick<AnalysisRunConfig, 'successCondition' | 'failureCondition'>): {
  success: Condition | undefined;
  failure: Condition | undefined;
} {
  return {
    success: config.successCondition === undefined ? undefined : parseCondition(config.successCondition),
    failure: config.failureCondition === undefined ? undefined : parseCondition(config.failureCondition),
  };
}

function checkConfig(config: ResolvedAnalysisRunConfig): void {
  const problems: string[] = [];
  if (!(config.intervalMs > 0 && Number.isFinite(config.intervalMs)))
    problems.push(`intervalMs must be > 0, got ${config.intervalMs}`);
  if (config.count !== null && !(Number.isInteger(config.count) && config.count >= 1)) {
    problems.push(`count must be a whole number >= 1 or null, got ${config.count}`);
  }
  if (!(config.initialDelayMs >= 0 && Number.isFinite(config.initialDelayMs))) {
    problems.push(`initialDelayMs must be >= 0, got ${config.initialDelayMs}`);
  }
  for (const key of ['failureLimit', 'inconclusiveLimit', 'consecutiveErrorLimit'] as const) {
    if (!(Number.isInteger(config[key]) && config[key] >= 0))
      problems.push(`${key} must be a whole number >= 0, got ${config[key]}`);
  }
  if (problems.length > 0) throw new RangeError(`analysis ${config.name}: ${problems.join('; ')}`);
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
