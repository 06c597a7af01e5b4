import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  describeSynthetic,
  emptyTally,
  mergeTraffic,
  tallySince,
  type SyntheticTally,
  type WindowTraffic,
} from '../../../src/core/analysis/synthetic-traffic.js';
import { estimatePercentile, LatencyHistogram } from '../../../src/core/latency-histogram.js';

function histogram(values: number[], buckets?: number[]) {
  const h = new LatencyHistogram(buckets);
  for (const v of values) h.record(v);
  return h.snapshot();
}

function tally(requests: number, failed: number, latencies: number[]): SyntheticTally {
  return { requests, responses: latencies.length + failed, failed, latency: histogram(latencies) };
}

const noRealTraffic: WindowTraffic = { requests: 0, responses: 0, errors: 0, latency: null };

describe('synthetic traffic joined with the real window', () => {
  it('is the window itself when no synthetic answer came back (or there is no load)', () => {
    const real: WindowTraffic = { requests: 3, responses: 3, errors: 1, latency: histogram([5, 5, 5]) };
    assert.equal(mergeTraffic(real, null), real);
    assert.equal(mergeTraffic(real, emptyTally(histogram([]))), real);
  });

  it('gives a quiet window responses, errors and latency from the synthetic answers alone', () => {
    const merged = mergeTraffic(noRealTraffic, tally(40, 2, new Array(38).fill(20)));
    assert.deepEqual([merged.requests, merged.responses, merged.errors], [0, 40, 2]);
    assert.equal(merged.latency?.count, 38);
  });

  it('adds thin real traffic to the synthetic one, requests staying what users sent', () => {
    const real: WindowTraffic = { requests: 2, responses: 2, errors: 1, latency: histogram([900, 900]) };
    const merged = mergeTraffic(real, tally(18, 0, new Array(18).fill(3)));
    assert.deepEqual([merged.requests, merged.responses, merged.errors], [2, 20, 1]);
    assert.equal(merged.latency?.count, 20);
    assert.ok(estimatePercentile(merged.latency, 0.99) > 500, 'the slow real requests still show in p99');
  });

  it('keeps the fuller side when the histograms have different buckets', () => {
    const real: WindowTraffic = { requests: 1, responses: 1, errors: 0, latency: histogram([7], [10, 100]) };
    const merged = mergeTraffic(real, tally(5, 0, [1, 1, 1, 1, 1]));
    assert.equal(merged.latency?.count, 5);
    assert.equal(merged.responses, 6);
  });

  it('takes the part of a tally after an earlier reading, for a window that joins a running load', () => {
    const earlier = tally(10, 1, new Array(9).fill(4));
    const later = tally(30, 2, new Array(28).fill(4));
    const since = tallySince(later, earlier);
    assert.deepEqual([since.requests, since.responses, since.failed, since.latency.count], [20, 20, 1, 19]);
  });

  it('says how much of a measurement was synthetic', () => {
    assert.equal(describeSynthetic({ requests: 120, failed: 0 }), 'synthetic: 120 requests, 0 failed');
    assert.equal(describeSynthetic({ requests: 1, failed: 1 }), 'synthetic: 1 request, 1 failed');
  });
});
