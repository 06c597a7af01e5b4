import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeObserved, observedShare, OBSERVED_WINDOW_MS } from '../../web/dashboard/observed-share.js';
import type { MetricsPoint } from '../../web/dashboard/wire-types.js';

// "observed" under the traffic bar: the share of requests the proxy counted per release, summed over a
// named window. It was the last one-second point, which at 25 % showed "67 % · 33 %" (issue 20, item 17).
function point(at: number, counts: Record<string, number>): MetricsPoint {
  return {
    at,
    releases: Object.entries(counts).map(([releaseId, requests]) => ({
      service: 'shop',
      releaseId,
      requests,
      requestsPerSecond: requests,
      errorRate: null,
      p95Ms: null,
    })),
  };
}

const T0 = 1_700_000_000_000;
/** One point a second from T0: each gets `counts(i)`. */
const series = (seconds: number, counts: (i: number) => Record<string, number>): MetricsPoint[] =>
  Array.from({ length: seconds + 1 }, (_, i) => point(T0 + i * 1000, counts(i)));

describe('the observed split of the dashboard', () => {
  it('sums the last 30 s, not the last second', () => {
    // A noisy second (2 of 3 to the canary) inside a steady 75/25.
    const points = series(60, (i) => (i === 60 ? { 'shop-1': 1, 'shop-2': 2 } : { 'shop-1': 30, 'shop-2': 10 }));
    const share = observedShare(points, ['shop-1', 'shop-2'], null);
    assert.equal(share.windowMs, OBSERVED_WINDOW_MS);
    assert.equal(share.sinceChange, false);
    assert.equal(share.total, 29 * 40 + 3, 'points 32..60: the 29 seconds after the reading 30 s back, and the last');
    assert.ok(Math.abs(share.releases[1]!.percent - 25) < 1, `canary ${share.releases[1]!.percent}%`);
    assert.equal(
      describeObserved(share, (id) => (id === 'shop-1' ? 'v1' : 'v2')),
      'requests in the last 30 s: v1 75% · v2 25% (1,163 requests)',
    );
  });

  it('starts after a change of the split, leaving out the second it happened in', () => {
    const points = series(40, (i) => (i <= 30 ? { 'shop-1': 50, 'shop-2': 0 } : { 'shop-1': 30, 'shop-2': 10 }));
    // The weight went to 25 % at 30.4 s: the point at 31 s spans it and is left out.
    const share = observedShare(points, ['shop-1', 'shop-2'], T0 + 30_400);
    assert.equal(share.sinceChange, true);
    assert.equal(share.windowMs, 9000);
    assert.deepEqual(
      share.releases.map((r) => r.requests),
      [9 * 30, 9 * 10],
    );
    assert.match(
      describeObserved(share, (id) => id),
      /^requests since the split changed 9 s ago: shop-1 75% · shop-2 25%/,
    );
  });

  it('counts only the releases asked for, says so when none answered, and waits for two points', () => {
    const points = series(5, () => ({ 'shop-1': 3, 'shop-5': 7 }));
    const share = observedShare(points, ['shop-1', 'shop-2'], null);
    assert.equal(share.total, 15, 'shop-5 no longer runs: not counted');
    assert.equal(share.releases[0]!.percent, 100);
    const idle = observedShare(
      series(5, () => ({ 'shop-1': 0 })),
      ['shop-1'],
      null,
    );
    assert.equal(
      describeObserved(idle, (id) => id),
      'requests in the last 5 s: none',
    );
    const first = observedShare(
      series(0, () => ({ 'shop-1': 4 })),
      ['shop-1'],
      null,
    );
    assert.equal(first.windowMs, 0);
    assert.match(
      describeObserved(first, (id) => id),
      /waiting/,
    );
  });

  it('shows a small share as <1%, never as 0%', () => {
    const points = series(30, () => ({ 'shop-1': 999, 'shop-2': 1 }));
    assert.match(
      describeObserved(observedShare(points, ['shop-1', 'shop-2'], null), (id) => id),
      /shop-1 >99% · shop-2 <1%/,
    );
  });
});
