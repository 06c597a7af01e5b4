import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/clock/manual-clock.js';
import { systemClock } from '../../src/clock/system-clock.js';

describe('ManualClock', () => {
  it('runs timers in time order, each at its own time, and only when advanced past them', async () => {
    const clock = new ManualClock(1_000);
    const seen: string[] = [];
    clock.schedule(() => seen.push(`b@${clock.now()}`), 200);
    clock.schedule(() => seen.push(`a@${clock.now()}`), 100);
    clock.schedule(() => seen.push(`c@${clock.now()}`), 200);
    await clock.advance(99);
    assert.deepEqual(seen, []);
    await clock.advance(101);
    assert.deepEqual(seen, ['a@1100', 'b@1200', 'c@1200']);
    assert.equal(clock.now(), 1_200);
  });

  it('lets a chain of sleeps progress within one advance, and cancels', async () => {
    const clock = new ManualClock(0);
    const steps: number[] = [];
    void (async () => {
      for (let i = 0; i < 3; i++) {
        await clock.sleep(1_000);
        steps.push(clock.now());
      }
    })();
    const cancelled = clock.schedule(() => steps.push(-1), 500);
    cancelled.cancel();
    await clock.advance(10_000);
    assert.deepEqual(steps, [1_000, 2_000, 3_000]);
    assert.equal(clock.pendingTimers(), 0);
  });

  it('rejects a sleep whose signal aborts, and advanceUntil gives up at its limit', async () => {
    const clock = new ManualClock(0);
    const controller = new AbortController();
    const sleeping = clock.sleep(60_000, controller.signal);
    controller.abort(new Error('stop'));
    await assert.rejects(sleeping, /stop/);
    await assert.rejects(
      clock.advanceUntil(() => false, { limitMs: 1_000 }),
      /within 1000 ms/,
    );
  });
});

describe('systemClock', () => {
  it('sleeps on real time and stops at an abort', async () => {
    const start = Date.now();
    await systemClock.sleep(20);
    assert.ok(Date.now() - start >= 15);
    const controller = new AbortController();
    const sleeping = systemClock.sleep(60_000, controller.signal);
    controller.abort(new Error('aborted'));
    await assert.rejects(sleeping, /aborted/);
  });
});
