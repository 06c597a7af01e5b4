import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  blueGreenTransition,
  resumeWatching,
  startBlueGreen,
  type BlueGreenEvent,
  type BlueGreenStart,
  type Transition,
} from '../../src/core/blue-green-strategy.js';

// The runbook of a blue-green deploy, driven as pure events: no processes, no timers.
const base: BlueGreenStart = {
  releaseId: 'web-2',
  slot: 'green',
  previousReleaseId: 'web-1',
  autoSwitch: true,
  autoCleanup: false,
  skipHealth: false,
  smokeChecks: 0,
  deployTimeoutMs: 30_000,
};

function drive(start: Partial<BlueGreenStart>, events: BlueGreenEvent[]): Transition[] {
  const steps: Transition[] = [startBlueGreen({ ...base, ...start }, 1_000)];
  for (const event of events) steps.push(blueGreenTransition(steps.at(-1)!.state, event));
  return steps;
}

const types = (t: Transition): string[] => t.commands.map((c) => c.type);

describe('blue-green strategy', () => {
  it('starts the new release, waits for health with the deadline, then switches and keeps the old slot', () => {
    const steps = drive({}, [{ type: 'instances-started' }, { type: 'all-healthy' }, { type: 'switched' }]);
    assert.deepEqual(types(steps[0]!), ['start-instances']);
    assert.equal(steps[0]!.state.deadline, 31_000);
    assert.deepEqual(steps[1]!.commands, [{ type: 'await-health', deadline: 31_000 }]);
    assert.deepEqual(types(steps[2]!), ['switch-traffic']);
    assert.equal(steps[2]!.state.phase, 'switching');
    assert.deepEqual(steps[3]!.commands, [
      { type: 'retire-previous', immediately: false },
      { type: 'finish', outcome: 'succeeded', error: null },
    ]);
    assert.equal(steps[3]!.state.phase, 'succeeded');
  });

  it('without auto switch it waits in ready until promote', () => {
    const steps = drive({ autoSwitch: false }, [
      { type: 'instances-started' },
      { type: 'all-healthy' },
      { type: 'promote' },
    ]);
    assert.equal(steps[2]!.state.phase, 'ready');
    assert.deepEqual(types(steps[2]!), ['announce']);
    assert.deepEqual(types(steps[3]!), ['switch-traffic']);
  });

  it('runs smoke checks between health and the switch, and a failed smoke check never switches', () => {
    const ok = drive({ smokeChecks: 2 }, [
      { type: 'instances-started' },
      { type: 'all-healthy' },
      { type: 'smoke-passed' },
    ]);
    assert.deepEqual(types(ok[2]!), ['run-smoke']);
    assert.deepEqual(types(ok[3]!), ['switch-traffic']);
    const bad = drive({ smokeChecks: 1 }, [
      { type: 'instances-started' },
      { type: 'all-healthy' },
      { type: 'smoke-failed', message: '/ready answered 500' },
    ]);
    assert.equal(bad[3]!.state.phase, 'failed');
    assert.deepEqual(types(bad[3]!), ['stop-new-release', 'finish']);
    assert.equal(bad[3]!.state.error?.code, 'SMOKE_FAILED');
  });

  it('a health timeout, an exit or a start failure stops the new release and never switches', () => {
    const cases: [BlueGreenEvent[], string][] = [
      [[{ type: 'instances-started' }, { type: 'deadline-passed', message: 'not healthy' }], 'HEALTH_TIMEOUT'],
      [[{ type: 'instances-started' }, { type: 'instance-exited', message: 'exit 1' }], 'INSTANCE_EXITED'],
      [[{ type: 'start-failed', code: 'INSTANCE_START_FAILED', message: 'no such cwd' }], 'INSTANCE_START_FAILED'],
    ];
    for (const [events, code] of cases) {
      const steps = drive({}, events);
      const last = steps.at(-1)!;
      assert.equal(last.state.phase, 'failed');
      assert.equal(last.state.error?.code, code);
      assert.ok(
        steps.every((s) => !types(s).includes('switch-traffic')),
        `${code} must not switch`,
      );
      assert.deepEqual(types(last), ['stop-new-release', 'finish']);
    }
  });

  it('a switch the router refuses (nginx -t) fails the deploy, stops the new release and retires nothing', () => {
    const steps = drive({}, [
      { type: 'instances-started' },
      { type: 'all-healthy' },
      { type: 'switch-failed', code: 'ROUTER_CONFIG_REJECTED', message: 'traffic was not moved: unknown directive' },
    ]);
    const last = steps.at(-1)!;
    assert.equal(last.state.phase, 'failed');
    assert.equal(last.state.error?.code, 'ROUTER_CONFIG_REJECTED');
    assert.deepEqual(types(last), ['stop-new-release', 'finish']);
  });

  it('abort works before the switch and is ignored once traffic moved', () => {
    const early = drive({ autoSwitch: false }, [
      { type: 'instances-started' },
      { type: 'all-healthy' },
      { type: 'abort', reason: 'by me' },
    ]);
    assert.equal(early.at(-1)!.state.phase, 'aborted');
    assert.deepEqual(types(early.at(-1)!), ['stop-new-release', 'finish']);
    const late = drive({}, [
      { type: 'instances-started' },
      { type: 'all-healthy' },
      { type: 'abort', reason: 'too late' },
    ]);
    assert.equal(late.at(-1)!.state.phase, 'switching');
    assert.deepEqual(late.at(-1)!.commands, []);
  });

  it('--skip-health goes straight from started to the switch', () => {
    const steps = drive({ skipHealth: true }, [{ type: 'instances-started' }]);
    assert.deepEqual(types(steps[1]!), ['switch-traffic']);
  });

  it('auto cleanup retires the previous release immediately', () => {
    const steps = drive({ autoCleanup: true }, [
      { type: 'instances-started' },
      { type: 'all-healthy' },
      { type: 'switched' },
    ]);
    assert.deepEqual(steps.at(-1)!.commands[0], { type: 'retire-previous', immediately: true });
  });

  it('a terminal state ignores every event', () => {
    const steps = drive({}, [
      { type: 'start-failed', code: 'X', message: 'y' },
      { type: 'all-healthy' },
      { type: 'promote' },
    ]);
    assert.equal(steps.at(-1)!.state.phase, 'failed');
    assert.deepEqual(steps.at(-1)!.commands, []);
  });

  it('with post_promotion it watches after the switch: the window ends in success, a failed analysis switches back', () => {
    const post = { postPromotion: { windowMs: 60_000, analysis: ['errors'] } };
    const watched = drive(post, [{ type: 'instances-started' }, { type: 'all-healthy' }, { type: 'switched' }]);
    assert.equal(watched.at(-1)!.state.phase, 'watching');
    assert.deepEqual(watched.at(-1)!.commands, [{ type: 'watch', windowMs: 60_000, templates: ['errors'] }]);
    const ok = blueGreenTransition(watched.at(-1)!.state, { type: 'window-elapsed' });
    assert.deepEqual(types(ok), ['stop-analysis', 'retire-previous', 'finish']);
    assert.equal(ok.state.phase, 'succeeded');
    const bad = blueGreenTransition(watched.at(-1)!.state, { type: 'analysis-failed', message: 'errors: 0.2' });
    assert.deepEqual(types(bad), ['stop-analysis', 'switch-back', 'finish']);
    assert.equal(bad.state.phase, 'rolled-back');
    assert.equal(bad.state.error?.code, 'ANALYSIS_FAILED');
    // The first release has nothing to switch back to: no watching.
    const first = drive({ ...post, previousReleaseId: null }, [
      { type: 'instances-started' },
      { type: 'all-healthy' },
      { type: 'switched' },
    ]);
    assert.equal(first.at(-1)!.state.phase, 'succeeded');
  });

  it('a watch resumed after a restart runs for the rest of its window, or ends at once if the window passed', () => {
    const post = { postPromotion: { windowMs: 60_000, analysis: ['errors'] } };
    const watching = drive(post, [{ type: 'instances-started' }, { type: 'all-healthy' }, { type: 'switched' }]).at(
      -1,
    )!.state;
    const resumed = resumeWatching(watching, 10_000, 25_000);
    assert.equal(resumed.state, watching);
    assert.deepEqual(resumed.commands, [{ type: 'watch', windowMs: 45_000, templates: ['errors'] }]);
    const late = resumeWatching(watching, 10_000, 70_000);
    assert.equal(late.state.phase, 'succeeded');
    assert.deepEqual(types(late), ['stop-analysis', 'retire-previous', 'finish']);
    // Anything but a watch is left as it is.
    const done = resumeWatching(late.state, 10_000, 25_000);
    assert.deepEqual(done.commands, []);
  });

  it('a rollback asked for in the post-promotion window ends the watch without switching itself', () => {
    const post = { postPromotion: { windowMs: 60_000, analysis: ['errors'] } };
    const watching = drive(post, [{ type: 'instances-started' }, { type: 'all-healthy' }, { type: 'switched' }]).at(
      -1,
    )!.state;
    const ended = blueGreenTransition(watching, { type: 'rollback-requested', reason: 'rolled back by ana' });
    assert.equal(ended.state.phase, 'rolled-back');
    assert.deepEqual(ended.commands, [
      { type: 'stop-analysis' },
      { type: 'finish', outcome: 'aborted', error: { code: 'DEPLOY_ABORTED', message: 'rolled back by ana' } },
    ]);
    // Before the switch there is no watch to end.
    const ready = drive({ autoSwitch: false }, [{ type: 'instances-started' }, { type: 'all-healthy' }]).at(-1)!.state;
    assert.deepEqual(blueGreenTransition(ready, { type: 'rollback-requested', reason: 'x' }).commands, []);
  });

  it('with pre_promotion it judges the release before the switch: failed fails, inconclusive waits for a person', () => {
    const pre = { prePromotion: { windowMs: 5000, analysis: ['gate'] } };
    const t = drive(pre, [{ type: 'instances-started' }, { type: 'all-healthy' }]);
    assert.equal(t.at(-1)!.state.phase, 'analysing');
    assert.deepEqual(t.at(-1)!.commands, [{ type: 'analyse', windowMs: 5000, templates: ['gate'] }]);
    const ok = blueGreenTransition(t.at(-1)!.state, {
      type: 'pre-analysis-concluded',
      phase: 'Successful',
      message: '',
    });
    assert.deepEqual(types(ok), ['switch-traffic']);
    const bad = blueGreenTransition(t.at(-1)!.state, {
      type: 'pre-analysis-concluded',
      phase: 'Failed',
      message: 'gate: exit 1',
    });
    assert.equal(bad.state.error?.code, 'ANALYSIS_FAILED');
    assert.deepEqual(types(bad), ['stop-new-release', 'finish']);
    const unsure = blueGreenTransition(t.at(-1)!.state, {
      type: 'pre-analysis-concluded',
      phase: 'Inconclusive',
      message: 'no data',
    });
    assert.equal(unsure.state.phase, 'ready');
    const aborted = blueGreenTransition(t.at(-1)!.state, { type: 'abort', reason: 'me' });
    assert.equal(aborted.state.phase, 'aborted');
  });
});
