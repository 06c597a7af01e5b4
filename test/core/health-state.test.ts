import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HealthConfig } from '../../src/config/types.js';
import {
  failedThreshold,
  initialHealth,
  observeHealth,
  restartDue,
  type HealthState,
} from '../../src/core/health-state.js';

const config: HealthConfig = {
  check: { type: 'tcp' },
  intervalMs: 1000,
  timeoutMs: 500,
  healthyThreshold: 2,
  unhealthyThreshold: 3,
  startPeriodMs: 5000,
  restartAfter: 0,
};

/** Feeds results one per second from `from`; returns every state along the way. */
function run(
  results: boolean[],
  options: { config?: HealthConfig; state?: HealthState; from?: number } = {},
): HealthState[] {
  const cfg = options.config ?? config;
  let state = options.state ?? initialHealth(0);
  let now = options.from ?? 1000;
  const states: HealthState[] = [];
  for (const ok of results) {
    state = observeHealth(state, { ok }, now, cfg);
    states.push(state);
    now += 1000;
  }
  return states;
}

const statuses = (states: HealthState[]): string[] => states.map((state) => state.status);

describe('health state (Docker HEALTHCHECK semantics)', () => {
  it('starts as starting with nothing observed', () => {
    const state = initialHealth(42);
    assert.equal(state.status, 'starting');
    assert.equal(state.startedAt, 42);
    assert.equal(state.checks, 0);
    assert.equal(state.lastCheckedAt, null);
  });

  it('becomes healthy after healthyThreshold consecutive successes', () => {
    assert.deepEqual(statuses(run([true, true])), ['starting', 'healthy']);
  });

  it('a failure resets the run of successes', () => {
    assert.deepEqual(statuses(run([true, false, true, true])), ['starting', 'starting', 'starting', 'healthy']);
  });

  it('failures inside the start period do not count toward unhealthy', () => {
    // t = 1..4 s are inside the 5 s start period; t = 5 s is the first failure that counts.
    const states = run([false, false, false, false, false, false, false]);
    assert.deepEqual(statuses(states), [
      'starting',
      'starting',
      'starting',
      'starting',
      'starting',
      'starting',
      'unhealthy',
    ]);
    assert.equal(states[3]?.consecutiveFailures, 0);
    assert.equal(states[4]?.consecutiveFailures, 1);
  });

  it('a success inside the start period still counts toward healthy', () => {
    assert.deepEqual(statuses(run([false, true, true])), ['starting', 'starting', 'healthy']);
  });

  it('without a start period, unhealthyThreshold failures make a starting instance unhealthy', () => {
    const noGrace = { ...config, startPeriodMs: 0 };
    assert.deepEqual(statuses(run([false, false, false], { config: noGrace })), ['starting', 'starting', 'unhealthy']);
  });

  it('once healthy, the start period no longer shields failures', () => {
    // Healthy at t = 2 s, then three failures at 3..5 s, all still inside the start period.
    const states = run([true, true, false, false, false]);
    assert.deepEqual(statuses(states), ['starting', 'healthy', 'healthy', 'healthy', 'unhealthy']);
  });

  it('healthy → unhealthy → healthy by the same thresholds', () => {
    const healthy = run([true, true], { from: 10_000 }).at(-1) as HealthState;
    const states = run([false, false, false, true, true, false, true], { state: healthy, from: 20_000 });
    assert.deepEqual(statuses(states), [
      'healthy',
      'healthy',
      'unhealthy',
      'unhealthy',
      'healthy',
      'healthy',
      'healthy',
    ]);
  });

  it('a single success does not flip an unhealthy instance back', () => {
    const unhealthy = run([false, false, false], { from: 10_000 }).at(-1) as HealthState;
    assert.equal(unhealthy.status, 'unhealthy');
    assert.deepEqual(statuses(run([true, false, true], { state: unhealthy, from: 20_000 })), [
      'unhealthy',
      'unhealthy',
      'unhealthy',
    ]);
  });

  it('thresholds of 1 flip on every result', () => {
    const eager = { ...config, healthyThreshold: 1, unhealthyThreshold: 1, startPeriodMs: 0 };
    assert.deepEqual(statuses(run([true, false, true], { config: eager })), ['healthy', 'unhealthy', 'healthy']);
  });

  it('records the check count and the time of the last check, and does not mutate its input', () => {
    const start = initialHealth(0);
    const next = observeHealth(start, { ok: true }, 1234, config);
    assert.equal(next.checks, 1);
    assert.equal(next.lastCheckedAt, 1234);
    assert.equal(start.checks, 0);
    assert.equal(start.consecutiveSuccesses, 0);
  });

  it('liveness: restart is due restart_after failures after the instance turned unhealthy, never inside the start period', () => {
    const live = { ...config, restartAfter: 2 };
    // Checks at 1 s … 4 s are inside the start period (5 s); from 5 s on: 3 failures → unhealthy, 2 more → restart.
    const states = run(Array<boolean>(10).fill(false), { config: live });
    assert.deepEqual(
      states.map((s) => restartDue(s, live)),
      [false, false, false, false, false, false, false, false, true, true],
    );
    assert.equal(states[6]!.status, 'unhealthy', 'out of rotation before the restart is due');
  });

  it('liveness: a pass in between starts the count again, and 0 turns it off', () => {
    const live = { ...config, restartAfter: 2, startPeriodMs: 0 };
    const states = run([false, false, false, false, true, false, false, false, false, false], { config: live });
    assert.deepEqual(
      states.map((s) => restartDue(s, live)),
      [false, false, false, false, false, false, false, false, false, true],
    );
    const off = { ...live, restartAfter: 0 };
    assert.ok(run(Array<boolean>(20).fill(false), { config: off }).every((s) => !restartDue(s, off)));
  });
  it('a pending check (a container HEALTHCHECK still starting) does not count against a starting instance', () => {
    // After the start period: pending failures keep it starting; a real failure counts as usual.
    let state = initialHealth(0);
    for (let t = 6000; t < 16000; t += 1000) state = observeHealth(state, { ok: false, pending: true }, t, config);
    assert.equal(state.status, 'starting');
    assert.equal(state.consecutiveFailures, 0);
    assert.equal(state.checks, 10);
    for (let t = 16000; t < 19000; t += 1000) state = observeHealth(state, { ok: false }, t, config);
    assert.equal(state.status, 'unhealthy', 'three real failures make it unhealthy');
  });

  it('once healthy, a pending check counts as a failure (it is no start any more)', () => {
    let state = run([true, true], { from: 6000 }).at(-1)!;
    assert.equal(state.status, 'healthy');
    for (let t = 9000; t < 12000; t += 1000) state = observeHealth(state, { ok: false, pending: true }, t, config);
    assert.equal(state.status, 'unhealthy');
  });
  it('failedThreshold: answered failures in a row after the start period; a refused connection breaks the run', () => {
    let state = initialHealth(0);
    const at = (t: number, result: { ok: boolean; answered?: boolean }) => {
      state = observeHealth(state, result, t, config);
      return failedThreshold(state, config);
    };
    assert.equal(at(1000, { ok: false }), false, 'inside the start period nothing counts');
    assert.equal(at(6000, { ok: false, answered: false }), false);
    assert.equal(at(7000, { ok: false, answered: false }), false);
    assert.equal(at(8000, { ok: false, answered: false }), false, 'refused three times: unhealthy, but not answered');
    assert.equal(state.status, 'unhealthy');
    assert.equal(at(9000, { ok: false }), false, 'one answered failure');
    assert.equal(at(10000, { ok: false }), false, 'two');
    assert.equal(at(11000, { ok: false }), true, 'three answered failures in a row: the threshold');
    assert.equal(at(12000, { ok: true }), false, 'a pass resets it');
  });
});
