import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LatencyHistogram } from '../../src/core/latency-histogram.js';
import { releaseRates } from '../../src/dashboard/release-rates.js';
import type { ReleaseCounters } from '../../src/router/index.js';

// The dashboard's charts are rates of the proxy's cumulative counters over one interval.
function counters(
  releaseId: string,
  requests: number,
  failed: number,
  latenciesMs: number[],
  histogram = new LatencyHistogram(),
): ReleaseCounters {
  for (const ms of latenciesMs) histogram.record(ms);
  return {
    service: 'web',
    releaseId,
    requests,
    inFlight: 0,
    openUpgrades: 0,
    status: { '1xx': 0, '2xx': requests - failed, '3xx': 0, '4xx': 0, '5xx': failed, error: 0 },
    latency: histogram.snapshot(),
  };
}

describe('release rates for the dashboard', () => {
  it('turns two readings into requests/s, error rate and the p95 of the interval only', () => {
    const histogram = new LatencyHistogram();
    const before = counters(
      'web-1',
      100,
      0,
      Array.from({ length: 100 }, () => 400),
      histogram,
    );
    // The next 50 requests are fast; the slow ones before must not count.
    const now = counters(
      'web-1',
      150,
      5,
      Array.from({ length: 50 }, () => 3),
      histogram,
    );
    const [rate] = releaseRates([before], [now], 2000);
    assert.equal(rate?.requestsPerSecond, 25);
    assert.equal(rate?.requests, 50, 'the count of the interval, which the observed split sums');
    assert.equal(rate?.errorRate, 0.1);
    assert.ok(typeof rate?.p95Ms === 'number' && rate.p95Ms <= 5, `p95 ${rate?.p95Ms}`);
  });

  it('reports no error rate or latency for an idle interval, and starts over when counters restart', () => {
    const first = counters('web-1', 10, 0, [1, 1]);
    const [idle] = releaseRates([first], [first], 1000);
    assert.deepEqual(
      { rps: idle?.requestsPerSecond, errors: idle?.errorRate, p95: idle?.p95Ms },
      { rps: 0, errors: null, p95: null },
    );
    const restarted = counters('web-1', 4, 4, [10, 10, 10, 10]);
    const [fresh] = releaseRates([first], [restarted], 1000);
    assert.deepEqual({ rps: fresh?.requestsPerSecond, errors: fresh?.errorRate }, { rps: 4, errors: 1 });
  });
});
