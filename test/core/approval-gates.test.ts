import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  canaryTransition,
  startCanary,
  type CanaryEvent,
  type CanaryStart,
  type CanaryTransition,
} from '../../src/core/canary-strategy.js';

// A canary step with `approval: true`: after its pause and analysis it waits for a person's approval.
const base: CanaryStart = {
  releaseId: 'web-2',
  stableReleaseId: 'web-1',
  slot: 'green',
  backgroundAnalysis: [],
  postPromotion: null,
  deployTimeoutMs: 30_000,
  steps: [
    { weight: 10, pauseMs: 5_000, analysis: ['errors'], approval: true },
    { weight: 50, pauseMs: 5_000, analysis: [] },
    { weight: 100, pauseMs: 0, analysis: [] },
  ],
};

function run(events: [CanaryEvent, number][]): CanaryTransition[] {
  const out = [startCanary(base, 0)];
  for (const [event, now] of events) out.push(canaryTransition(out.at(-1)!.state, event, now));
  return out;
}

const toGate: [CanaryEvent, number][] = [
  [{ type: 'instances-started' }, 1],
  [{ type: 'all-healthy' }, 100],
  [{ type: 'step-elapsed', stepIndex: 0 }, 5_100],
  [{ type: 'step-concluded', stepIndex: 0, phase: 'Successful' }, 5_101],
];

describe('approval gates', () => {
  it('waits after the step, at its weight, until approved; the approval is announced with who gave it', () => {
    const t = run([...toGate, [{ type: 'approve', actor: 'alice' }, 60_000]]);
    const waiting = t[4]!;
    assert.equal(waiting.state.phase, 'paused');
    assert.equal(waiting.state.pausedBy, 'approval');
    assert.equal(waiting.state.weight, 10, "traffic stays at the step's weight while it waits");
    assert.deepEqual(
      waiting.commands.map((c) => (c.type === 'announce' ? c.event : c.type)),
      ['approval.waiting'],
    );
    const approved = t[5]!;
    assert.equal(approved.state.stepIndex, 1);
    assert.equal(approved.state.weight, 50);
    assert.equal(approved.state.phase, 'stepping');
    const announced = approved.commands.find((c) => c.type === 'announce' && c.event === 'deploy.approved');
    assert.match(announced && announced.type === 'announce' ? announced.message : '', /step 1 approved by alice/);
  });

  it('is not passed by promote or resume, and an analysis failure while waiting still aborts', () => {
    const t = run([
      ...toGate,
      [{ type: 'promote', full: false }, 6_000],
      [{ type: 'promote', full: true }, 6_001],
      [{ type: 'resume' }, 6_002],
    ]);
    for (const transition of t.slice(5)) {
      assert.equal(transition.state.pausedBy, 'approval');
      assert.equal(transition.state.weight, 10);
      assert.deepEqual(transition.commands, []);
    }
    const failed = canaryTransition(t[4]!.state, { type: 'analysis-failed', message: 'background: errors' }, 7_000);
    assert.equal(failed.state.phase, 'failed');
  });

  it('an approve with nothing waiting changes nothing', () => {
    const t = run([
      [{ type: 'instances-started' }, 1],
      [{ type: 'all-healthy' }, 100],
      [{ type: 'approve', actor: 'bob' }, 200],
    ]);
    assert.equal(t[3]!.state.phase, 'stepping');
    assert.equal(t[3]!.state.stepIndex, 0);
    assert.deepEqual(t[3]!.commands, []);
  });
});
