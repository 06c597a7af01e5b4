import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  addReading,
  holdSchedule,
  MAX_BURST,
  nextTickIn,
  realRate,
  startSchedule,
  tickSchedule,
  type CounterReading,
  type LoadScheduleState,
} from '../../../src/core/analysis/synthetic-load-schedule.js';

/** Drives the schedule as the generator does (a tick when nextTickIn says), answering every request at once. */
function run(rate: number, ms: number, maxInFlight = 16): { sent: number; dropped: number; ticks: number } {
  let state: LoadScheduleState = startSchedule(rate, 0);
  let now = 0;
  let sent = 0;
  let dropped = 0;
  let ticks = 0;
  while (now < ms) {
    const tick = tickSchedule(state, now, 0, maxInFlight);
    state = tick.state;
    sent += tick.send;
    dropped += tick.dropped;
    ticks++;
    now += nextTickIn(state, now);
  }
  return { sent, dropped, ticks };
}

describe('synthetic load schedule', () => {
  it('sends `rate` requests a second, spread out, the first at once', () => {
    for (const rate of [1, 5, 20, 50]) {
      const { sent, dropped, ticks } = run(rate, 10_000);
      assert.equal(sent, rate * 10, `rate ${rate}`);
      assert.equal(dropped, 0);
      assert.equal(ticks, rate * 10, 'one request per tick: no bursts');
    }
    assert.equal(tickSchedule(startSchedule(5, 1000), 1000, 0, 4).send, 1);
  });

  it('drops what is due while maxInFlight requests hang, and never catches up in a burst', () => {
    let state = startSchedule(10, 0);
    // Two seconds with every slot taken: 20 due, none sent.
    const stuck = tickSchedule(state, 2000, 4, 4);
    assert.deepEqual([stuck.send, stuck.dropped], [0, 21]);
    state = stuck.state;
    // The release answers again: the next tick sends one request, not the backlog.
    const next = tickSchedule(state, 2100, 0, 4);
    assert.deepEqual([next.send, next.dropped], [1, 0]);
  });

  it('caps one tick at MAX_BURST whatever the gap (a stalled event loop)', () => {
    const tick = tickSchedule(startSchedule(50, 0), 5000, 0, 1000);
    assert.equal(tick.send, MAX_BURST);
    assert.equal(tick.send + tick.dropped, 251);
  });

  it('sends nothing while held and starts over on release, without a burst', () => {
    let state = holdSchedule(startSchedule(10, 0));
    assert.equal(state.since, null);
    state = startSchedule(10, 60_000);
    const first = tickSchedule(state, 60_000, 0, 16);
    assert.equal(first.send, 1);
    assert.equal(nextTickIn(first.state, 60_000), 100);
  });

  it('refuses a rate that is not positive', () => {
    assert.throws(() => startSchedule(0, 0), RangeError);
  });
});

describe('real traffic rate', () => {
  it('is unknown until two readings half a second apart, then requests per second over the span', () => {
    let readings: CounterReading[] = [];
    readings = addReading(readings, { at: 0, requests: 100 }, 3000);
    assert.equal(realRate(readings), null);
    readings = addReading(readings, { at: 200, requests: 101 }, 3000);
    assert.equal(realRate(readings), null);
    readings = addReading(readings, { at: 1000, requests: 110 }, 3000);
    assert.equal(realRate(readings), 10);
  });

  it('forgets readings older than the span, keeping one at its start', () => {
    let readings: CounterReading[] = [];
    for (let second = 0; second <= 10; second++)
      readings = addReading(readings, { at: second * 1000, requests: second < 5 ? second * 100 : 400 }, 3000);
    assert.deepEqual(
      readings.map((r) => r.at),
      [7000, 8000, 9000, 10_000],
    );
    assert.equal(realRate(readings), 0, 'the burst of the first seconds is over');
  });

  it('starts over when the counter went down (a restarted router)', () => {
    let readings = addReading([], { at: 0, requests: 500 }, 3000);
    readings = addReading(readings, { at: 1000, requests: 3 }, 3000);
    assert.deepEqual(readings, [{ at: 1000, requests: 3 }]);
    assert.equal(realRate(readings), null);
  });
});
