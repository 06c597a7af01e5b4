import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  canaryTransition,
  startCanary,
  type CanaryEvent,
  type CanaryStart,
  type CanaryTransition,
} from '../../src/core/canary-strategy.js';

// The runbook of a canary, as pure events with an explicit clock.
const steps = [
  { weight: 5, pauseMs: 10_000, analysis: ['errors'] },
  { weight: 25, pauseMs: 10_000, analysis: [] },
  { weight: 50, pauseMs: null, analysis: [] },
  { weight: 100, pauseMs: 0, analysis: [] },
];
const base: CanaryStart = {
  releaseId: 'web-2',
  stableReleaseId: 'web-1',
  slot: 'green',
  steps,
  backgroundAnalysis: ['judge'],
  postPromotion: null,
  deployTimeoutMs: 30_000,
};

function run(start: Partial<CanaryStart>, events: [CanaryEvent, number][]): CanaryTransition[] {
  const out = [startCanary({ ...base, ...start }, 0)];
  for (const [event, now] of events) out.push(canaryTransition(out.at(-1)!.state, event, now));
  return out;
}
const weights = (t: CanaryTransition): number[] =>
  t.commands.flatMap((c) => (c.type === 'set-weight' ? [c.weight] : []));
const types = (t: CanaryTransition): string[] => t.commands.map((c) => c.type);

const healthy: [CanaryEvent, number][] = [
  [{ type: 'instances-started' }, 1],
  [{ type: 'all-healthy' }, 1000],
];

describe('canary strategy', () => {
  it('goes 5 → 25 → 50 (waits for promote) → 100 and promotes the release', () => {
    const t = run({}, [
      ...healthy,
      [{ type: 'step-elapsed', stepIndex: 0 }, 11_000],
      [{ type: 'step-concluded', stepIndex: 0, phase: 'Successful' }, 11_001],
      [{ type: 'step-elapsed', stepIndex: 1 }, 21_001],
      [{ type: 'step-concluded', stepIndex: 1, phase: 'Successful' }, 21_002],
      [{ type: 'promote', full: false }, 50_000],
      [{ type: 'step-concluded', stepIndex: 2, phase: 'Successful' }, 50_001],
    ]);
    assert.deepEqual(weights(t[2]!), [5]);
    assert.ok(types(t[2]!).includes('start-analysis'));
    assert.deepEqual(
      t[2]!.commands.find((c) => c.type === 'schedule-step-end'),
      { type: 'schedule-step-end', stepIndex: 0, at: 11_000 },
    );
    assert.deepEqual(types(t[3]!), ['conclude-step']);
    assert.deepEqual(weights(t[4]!), [25]);
    assert.deepEqual(weights(t[6]!), [50]);
    assert.equal(t[6]!.state.phase, 'paused');
    assert.equal(t[6]!.state.pausedBy, 'step');
    assert.deepEqual(types(t[8]!), ['stop-analysis', 'promote-release', 'stop-analysis', 'finish']);
    assert.equal(t[8]!.state.phase, 'succeeded');
    assert.equal(t[8]!.state.weight, 100);
  });

  it('a failed analysis sets the weight to 0 at once and stops the canary', () => {
    const t = run({}, [...healthy, [{ type: 'analysis-failed', message: 'errors: 0.2 > 0.05' }, 3000]]);
    const last = t.at(-1)!;
    assert.equal(last.state.phase, 'failed');
    assert.equal(last.state.error?.code, 'ANALYSIS_FAILED');
    assert.deepEqual(types(last), ['set-weight', 'stop-analysis', 'stop-canary', 'finish']);
    assert.deepEqual(weights(last), [0]);
  });

  it('an inconclusive analysis pauses for a person; resume continues with the time left', () => {
    const t = run({}, [
      ...healthy,
      [{ type: 'analysis-inconclusive', message: 'prometheus unreachable' }, 4000],
      [{ type: 'step-elapsed', stepIndex: 0 }, 11_000],
      [{ type: 'resume' }, 60_000],
    ]);
    assert.equal(t[3]!.state.phase, 'paused');
    assert.equal(t[3]!.state.remainingMs, 7000);
    assert.deepEqual(t[4]!.commands, [], 'a timer of the paused step does nothing');
    assert.deepEqual(t[5]!.commands.at(-1), { type: 'schedule-step-end', stepIndex: 0, at: 67_000 });
    assert.equal(t[5]!.state.phase, 'stepping');
  });

  it('pause and resume by a person keep the weight; promote --full jumps to 100', () => {
    const t = run({}, [...healthy, [{ type: 'pause' }, 2000], [{ type: 'promote', full: true }, 3000]]);
    assert.equal(t[3]!.state.weight, 5);
    assert.deepEqual(weights(t[3]!), []);
    assert.ok(types(t[4]!).includes('promote-release'));
    assert.equal(t[4]!.state.phase, 'succeeded');
  });

  it('an inconclusive step conclusion waits; a failed one aborts', () => {
    const wait = run({}, [
      ...healthy,
      [{ type: 'step-elapsed', stepIndex: 0 }, 11_000],
      [{ type: 'step-concluded', stepIndex: 0, phase: 'Inconclusive' }, 11_001],
    ]);
    assert.equal(wait.at(-1)!.state.phase, 'paused');
    assert.equal(wait.at(-1)!.state.weight, 5);
    const fail = run({}, [
      ...healthy,
      [{ type: 'step-elapsed', stepIndex: 0 }, 11_000],
      [{ type: 'step-concluded', stepIndex: 0, phase: 'Failed' }, 11_001],
    ]);
    assert.equal(fail.at(-1)!.state.phase, 'failed');
    assert.deepEqual(weights(fail.at(-1)!), [0]);
  });

  it('after promotion, a failed post-promotion analysis rolls back to the stable release', () => {
    const t = run(
      { steps: [{ weight: 100, pauseMs: 0, analysis: [] }], postPromotion: { windowMs: 60_000, analysis: ['errors'] } },
      [...healthy, [{ type: 'analysis-failed', message: 'error spike' }, 5000]],
    );
    assert.equal(t[2]!.state.phase, 'post-promotion');
    assert.deepEqual(types(t[2]!), ['stop-analysis', 'promote-release', 'start-analysis', 'schedule-window-end']);
    assert.equal(t[3]!.state.phase, 'rolled-back');
    assert.deepEqual(types(t[3]!), ['stop-analysis', 'roll-back', 'finish']);
    const ok = run(
      { steps: [{ weight: 100, pauseMs: 0, analysis: [] }], postPromotion: { windowMs: 60_000, analysis: [] } },
      [...healthy, [{ type: 'window-elapsed' }, 61_000]],
    );
    assert.equal(ok.at(-1)!.state.phase, 'succeeded');
  });

  it('a stale step timer from an earlier step is ignored, and the weight never goes down while it goes well', () => {
    const t = run({}, [
      ...healthy,
      [{ type: 'promote', full: false }, 2000],
      [{ type: 'step-concluded', stepIndex: 0, phase: 'Successful' }, 2001],
      [{ type: 'step-elapsed', stepIndex: 0 }, 11_000],
    ]);
    assert.deepEqual(t.at(-1)!.commands, []);
    const seen = t.flatMap(weights);
    assert.deepEqual(
      seen,
      [...seen].sort((a, b) => a - b),
    );
  });

  it('the first release (no stable) goes straight to 100 once healthy', () => {
    const t = run({ stableReleaseId: null }, healthy);
    assert.equal(t.at(-1)!.state.phase, 'succeeded');
    assert.ok(types(t.at(-1)!).includes('promote-release'));
  });

  it('health failures before any traffic fail without touching the weight', () => {
    const t = run({}, [
      [{ type: 'instances-started' }, 1],
      [{ type: 'deadline-passed', message: 'not healthy' }, 30_000],
    ]);
    assert.equal(t.at(-1)!.state.error?.code, 'HEALTH_TIMEOUT');
    assert.deepEqual(weights(t.at(-1)!), []);
  });
});
