import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ANALYSIS_RUN_DEFAULTS,
  assessMeasurement,
  combineRuns,
  endRun,
  nextDueAt,
  recordMeasurement,
  startRun,
  type AnalysisRunConfig,
  type AnalysisRunState,
  type MeasurementInput,
  type RunPhase,
} from '../../../src/core/analysis/analysis-run.js';
import { CutoverError } from '../../../src/core/errors.js';

const INTERVAL = 10_000;
const base: AnalysisRunConfig = {
  name: 'error-rate',
  intervalMs: INTERVAL,
  count: 5,
  successCondition: 'result < 0.01',
};

const E = { error: 'prometheus: connection refused' };

/** Feeds values (or `E`, a provider error) one interval apart, as the controller would. */
function run(config: Partial<AnalysisRunConfig>, inputs: unknown[]): AnalysisRunState {
  let state = startRun({ ...base, ...config }, 0);
  for (const input of inputs) {
    const at = nextDueAt(state) ?? (state.measurements.at(-1)?.at ?? 0) + INTERVAL;
    const measurement: MeasurementInput = input === E ? { at, error: E.error } : { at, value: input };
    state = recordMeasurement(state, measurement);
  }
  return state;
}

describe('analysis run', () => {
  // [story, config, measurements, run phase, measurement phases recorded]
  const TABLE: [string, Partial<AnalysisRunConfig>, unknown[], RunPhase, string][] = [
    ['count reached with every value good', {}, [0, 0.001, 0.002, 0, 0.005], 'Successful', 'sssss'],
    ['still running before count', {}, [0, 0.001], 'Running', 'ss'],
    ['one failure fails at the default failure limit 0', {}, [0, 0.5], 'Failed', 'sf'],
    ['failures up to the limit are tolerated', { failureLimit: 2 }, [0.5, 0, 0.5, 0, 0], 'Successful', 'fsfss'],
    ['one failure past the limit fails at once', { failureLimit: 2 }, [0.5, 0.5, 0.5], 'Failed', 'fff'],
    [
      'only a failure condition: true fails',
      { successCondition: undefined, failureCondition: 'result > 0.05' },
      [0.01, 0.2],
      'Failed',
      'sf',
    ],
    [
      'only a failure condition: false succeeds',
      { successCondition: undefined, failureCondition: 'result > 0.05', count: 2 },
      [0.01, 0.02],
      'Successful',
      'ss',
    ],
    [
      'both conditions: neither true is inconclusive',
      { failureCondition: 'result > 0.05' },
      [0.001, 0.02],
      'Inconclusive',
      'si',
    ],
    [
      'inconclusive up to the limit is tolerated',
      { failureCondition: 'result > 0.05', inconclusiveLimit: 1, count: 3 },
      [0.02, 0, 0],
      'Successful',
      'iss',
    ],
    [
      'both conditions true: the failure condition wins',
      { successCondition: 'result >= 0', failureCondition: 'result > 0.05' },
      [0.5],
      'Failed',
      'f',
    ],
    [
      'no condition: every value succeeds',
      { successCondition: undefined, count: 2 },
      ['anything', 42],
      'Successful',
      'ss',
    ],
    ['errors up to the consecutive limit keep it running', {}, [E, E, E, E], 'Running', 'eeee'],
    ['a fifth consecutive error is inconclusive (limit 4)', {}, [E, E, E, E, E], 'Inconclusive', 'eeeee'],
    ['a good value resets the consecutive errors', {}, [E, E, E, E, 0, E, E, E, E, 0], 'Running', 'eeeeseeees'],
    ['errors do not count towards count', { count: 2 }, [0, E, 0], 'Successful', 'ses'],
    [
      'consecutiveErrorLimit 0: the first error ends the run',
      { consecutiveErrorLimit: 0 },
      [0, E],
      'Inconclusive',
      'se',
    ],
    [
      'a condition that cannot be evaluated is an error, not a failure',
      { successCondition: 'result.p95 < 500' },
      [{ p50: 1 }],
      'Running',
      'e',
    ],
    ['count 1: one good measurement is enough', { count: 1 }, [0], 'Successful', 's'],
  ];

  const letter = { successful: 's', failed: 'f', inconclusive: 'i', error: 'e' } as const;

  for (const [story, config, inputs, phase, phases] of TABLE) {
    it(story, () => {
      const state = run(config, inputs);
      assert.equal(state.phase, phase, state.message);
      assert.equal(state.measurements.map((m) => letter[m.phase]).join(''), phases);
      assert.equal(state.finishedAt === null, phase === 'Running');
    });
  }

  it('keeps every measurement with its time, value, phase and message', () => {
    const state = run({ failureCondition: 'result > 0.05', inconclusiveLimit: 5 }, [0.001, 0.02, E, 0.5]);
    assert.deepEqual(state.measurements, [
      { at: 0, value: 0.001, phase: 'successful', message: 'success condition result < 0.01 is true' },
      { at: 10_000, value: 0.02, phase: 'inconclusive', message: 'neither result < 0.01 nor result > 0.05 is true' },
      { at: 20_000, value: null, phase: 'error', message: 'measurement failed: prometheus: connection refused' },
      { at: 30_000, value: 0.5, phase: 'failed', message: 'failure condition result > 0.05 is true' },
    ]);
    assert.equal(state.phase, 'Failed');
    assert.equal(state.message, '1 measurement failed, more than the failure limit of 0');
    assert.equal(state.finishedAt, 30_000);
    assert.deepEqual(
      [state.successful, state.failed, state.inconclusive, state.errors, state.consecutiveErrors],
      [1, 1, 1, 1, 0],
    );
    assert.deepEqual(JSON.parse(JSON.stringify(state)), state, 'the state is plain JSON for the release history');
  });

  it('explains an inconclusive run caused by errors with the last error', () => {
    const state = run({}, [E, E, E, E, E]);
    assert.match(
      state.message,
      /^5 consecutive errors, more than the limit of 4 \(last: measurement failed: prometheus/,
    );
  });

  it('schedules measurements: at once (or after the initial delay), then every interval, none once finished', () => {
    let state = startRun({ ...base, initialDelayMs: 30_000 }, 1_000);
    assert.equal(nextDueAt(state), 31_000);
    state = recordMeasurement(state, { at: 31_500, value: 0 });
    assert.equal(nextDueAt(state), 41_500, 'from the last measurement, so a late one does not cause a burst');
    assert.equal(nextDueAt(startRun(base, 5)), 5);
    state = recordMeasurement(state, { at: 42_000, value: 1 });
    assert.equal(state.phase, 'Failed');
    assert.equal(nextDueAt(state), null);
  });

  it('ignores a measurement that arrives after the run finished', () => {
    const failed = run({}, [1]);
    assert.equal(recordMeasurement(failed, { at: 99_000, value: 0 }), failed);
  });

  it('runs until the step ends with count null, then succeeds if nothing failed beyond the limit', () => {
    const running = run({ count: null, failureLimit: 1 }, [0, 0, 0.5, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert.equal(running.phase, 'Running', 'no count: never finishes by itself');
    assert.equal(nextDueAt(running), 120_000);
    const ended = endRun(running, 125_000);
    assert.equal(ended.phase, 'Successful');
    assert.equal(ended.finishedAt, 125_000);
    assert.equal(ended.message, 'the step ended after 12 measurements, 1 failed');
  });

  it('ends early before count is reached: successful with measurements, inconclusive without', () => {
    assert.equal(endRun(run({ count: 10 }, [0, 0]), 30_000).phase, 'Successful');
    const nothing = endRun(startRun(base, 0), 1);
    assert.equal(nothing.phase, 'Inconclusive');
    assert.match(nothing.message, /no measurement/);
    const onlyErrors = endRun(run({}, [E, E]), 30_000);
    assert.equal(onlyErrors.phase, 'Inconclusive');
    assert.match(onlyErrors.message, /only errors \(2\)/);
    const failed = run({}, [1]);
    assert.equal(endRun(failed, 50_000), failed, 'a finished run stays as it was');
  });

  it('combines the runs of a step: any Failed, else any Inconclusive, else all Successful, else Running', () => {
    const successful = run({ count: 1 }, [0]);
    const running = run({}, [0]);
    const failed = run({}, [1]);
    const inconclusive = run({}, [E, E, E, E, E]);
    assert.equal(combineRuns([successful, running, inconclusive, failed]), 'Failed');
    assert.equal(combineRuns([successful, inconclusive, running]), 'Inconclusive');
    assert.equal(combineRuns([successful, running]), 'Running');
    assert.equal(combineRuns([successful, successful]), 'Successful');
    assert.equal(combineRuns([]), 'Successful', 'a step without analysis has nothing to fail');
  });

  it('assesses one value as Argo Rollouts does', () => {
    const both = { successCondition: 'result < 1', failureCondition: 'result > 2' };
    assert.equal(assessMeasurement(both, 0).phase, 'successful');
    assert.equal(assessMeasurement(both, 1.5).phase, 'inconclusive');
    assert.equal(assessMeasurement(both, 3).phase, 'failed');
    assert.equal(assessMeasurement(both, 'x').phase, 'error');
    assert.match(assessMeasurement(both, 'x').message, /^failure condition: '>' compares two numbers/);
    assert.equal(assessMeasurement({}, Number.NaN).phase, 'successful');
  });

  it('never passes NaN (no data) on a failure condition that is false only because NaN compares false', () => {
    // An error ratio over a window with no requests is 0/0: Prometheus answers NaN, and `NaN > 0.05` is false.
    const onlyFailure = { failureCondition: 'result > 0.05' };
    assert.equal(assessMeasurement(onlyFailure, 0.01).phase, 'successful');
    const nan = assessMeasurement(onlyFailure, Number.NaN);
    assert.equal(nan.phase, 'inconclusive');
    assert.match(nan.message, /NaN \(no data.*isNaN\(result\) or default\(result, 0\)/);
    assert.equal(run(onlyFailure, [Number.NaN]).phase, 'Inconclusive', 'a canary nobody reached pauses for a person');
    // A condition that says what NaN means decides it, either way.
    assert.equal(assessMeasurement({ failureCondition: 'isNaN(result) || result > 0.05' }, Number.NaN).phase, 'failed');
    assert.equal(assessMeasurement({ failureCondition: 'default(result, 0) > 0.05' }, Number.NaN).phase, 'successful');
    assert.equal(assessMeasurement({ successCondition: 'result < 0.05' }, Number.NaN).phase, 'failed');
    assert.equal(
      assessMeasurement({ successCondition: 'isNaN(result) || result < 0.05' }, Number.NaN).phase,
      'successful',
    );
  });

  it('judges a large value whole but keeps only a preview of it', () => {
    // A web metric may answer 1 MiB; each measurement is kept in the run and recorded as an event.
    const points = Array.from({ length: 20_000 }, (_, index) => ({ t: index, errors: 0 }));
    const state = run({ successCondition: 'len(result) == 20000 && result[19999].errors == 0', count: 2 }, [
      points,
      'x'.repeat(10_000),
    ]);
    assert.equal(state.measurements[0]?.phase, 'successful', state.measurements[0]?.message);
    assert.equal(state.measurements[1]?.phase, 'failed', 'a 10,000-character string is judged whole too');
    for (const measurement of state.measurements) {
      assert.ok(JSON.stringify(measurement.value).length < 300, JSON.stringify(measurement.value).slice(0, 400));
    }
    const kept = state.measurements[0]?.value as { truncated: string; chars: number };
    assert.equal(kept.chars, JSON.stringify(points).length);
    assert.ok(kept.truncated.startsWith('[{"t":0,"errors":0}'));
    const small = run({ successCondition: 'result.p95 < 300', count: 1 }, [{ p95: 120, series: [1, 2, 3] }]);
    assert.deepEqual(small.measurements[0]?.value, { p95: 120, series: [1, 2, 3] }, 'a small value is kept as it is');
  });

  it('validates its config: a bad condition is a CutoverError, bad numbers a RangeError', () => {
    assert.throws(
      () => startRun({ ...base, successCondition: 'result <' }, 0),
      (error: unknown) => error instanceof CutoverError && error.code === 'ANALYSIS_CONDITION_INVALID',
    );
    assert.throws(() => startRun({ ...base, intervalMs: 0 }, 0), /intervalMs must be > 0/);
    assert.throws(() => startRun({ ...base, count: 0 }, 0), /count must be a whole number >= 1 or null/);
    assert.throws(() => startRun({ ...base, failureLimit: -1 }, 0), /failureLimit/);
    assert.throws(() => startRun({ ...base, consecutiveErrorLimit: 1.5 }, 0), /consecutiveErrorLimit/);
  });

  it('fills in the defaults', () => {
    const state = startRun({ name: 'p95', intervalMs: 1000, count: null, failureLimit: undefined }, 0);
    assert.deepEqual(ANALYSIS_RUN_DEFAULTS, {
      initialDelayMs: 0,
      failureLimit: 0,
      inconclusiveLimit: 0,
      consecutiveErrorLimit: 4,
    });
    assert.deepEqual(state.config, { name: 'p95', intervalMs: 1000, count: null, ...ANALYSIS_RUN_DEFAULTS });
    assert.equal(state.phase, 'Running');
  });
});
