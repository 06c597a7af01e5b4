import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_LATENCY_BUCKETS_MS,
  estimatePercentile,
  LatencyHistogram,
  meanLatency,
  subtractSnapshots,
} from '../../src/core/latency-histogram.js';

describe('latency histogram', () => {
  it('puts each observation in the first bucket whose bound is >= it, and above the last bound in +Inf', () => {
    const histogram = new LatencyHistogram([1, 10, 100]);
    for (const ms of [0, 1, 1.5, 10, 10.01, 100, 101, 5000]) histogram.record(ms);
    const snapshot = histogram.snapshot();
    assert.deepEqual(snapshot.bucketsMs, [1, 10, 100]);
    assert.deepEqual(snapshot.counts, [2, 2, 2, 2]);
    assert.equal(snapshot.count, 8);
    assert.equal(snapshot.sumMs, 0 + 1 + 1.5 + 10 + 10.01 + 100 + 101 + 5000);
  });

  it('uses the default ms buckets up to 10 s', () => {
    const snapshot = new LatencyHistogram().snapshot();
    assert.deepEqual(snapshot.bucketsMs, [...DEFAULT_LATENCY_BUCKETS_MS]);
    assert.equal(snapshot.counts.length, DEFAULT_LATENCY_BUCKETS_MS.length + 1);
    assert.equal(JSON.stringify(snapshot).includes('null'), false, 'the snapshot is plain JSON (no Infinity)');
  });

  it('estimates percentiles by interpolating inside the bucket', () => {
    const histogram = new LatencyHistogram([10, 20, 40]);
    for (let i = 0; i < 50; i++) histogram.record(5); // (0,10]
    for (let i = 0; i < 50; i++) histogram.record(15); // (10,20]
    assert.equal(histogram.percentile(0.5), 10);
    assert.equal(histogram.percentile(0.75), 15);
    assert.equal(histogram.percentile(1), 20);
    assert.equal(histogram.percentile(0.1), 2);
  });

  it('reports the last finite bound for the +Inf bucket and NaN when empty', () => {
    const histogram = new LatencyHistogram([10, 20]);
    assert.ok(Number.isNaN(histogram.percentile(0.5)));
    histogram.record(1000);
    assert.equal(histogram.percentile(0.99), 20);
    assert.throws(() => histogram.percentile(1.5), RangeError);
  });

  it('subtracts snapshots to get one window', () => {
    const histogram = new LatencyHistogram([10, 100]);
    histogram.record(5);
    const before = histogram.snapshot();
    histogram.record(50);
    histogram.record(70);
    const window = subtractSnapshots(histogram.snapshot(), before);
    assert.deepEqual(window.counts, [0, 2, 0]);
    assert.equal(window.count, 2);
    assert.equal(meanLatency(window), 60);
    assert.equal(estimatePercentile(window, 0.5), 55);
    assert.throws(() => subtractSnapshots(window, new LatencyHistogram([1]).snapshot()), RangeError);
  });

  it('refuses buckets that are not ascending', () => {
    assert.throws(() => new LatencyHistogram([10, 5]), RangeError);
  });

  it('resets to empty', () => {
    const histogram = new LatencyHistogram([10]);
    histogram.record(3);
    histogram.reset();
    assert.deepEqual(histogram.snapshot().counts, [0, 0]);
    assert.equal(histogram.count, 0);
  });
});
