import { estimatePercentile, subtractSnapshots } from '../core/latency-histogram.js';
import type { ReleaseCounters } from '../router/index.js';

/**
 * Turns two readings of the proxy's cumulative per-release counters into what
 * the dashboard charts: requests per second, the share of failed answers
 * (5xx from the app plus requests the proxy could not deliver) and the p95
 * latency of the requests between the readings. Pure: the caller reads the
 * counters and the clock.
 */
export interface ReleaseRate {
  service: string;
  releaseId: string;
  /** Requests counted between the two readings: the dashboard sums these for its observed split. */
  requests: number;
  requestsPerSecond: number;
  /** 0..1, null when no request finished in the interval. */
  errorRate: number | null;
  /** null when no request finished in the interval. */
  p95Ms: number | null;
  inFlight: number;
}

export interface MetricsPoint {
  /** Epoch ms of the later reading. */
  at: number;
  releases: ReleaseRate[];
}

export function releaseRates(
  previous: readonly ReleaseCounters[],
  current: readonly ReleaseCounters[],
  elapsedMs: number,
): ReleaseRate[] {
  const seconds = Math.max(elapsedMs, 1) / 1000;
  return current.map((now) => {
    const before = previous.find((p) => p.service === now.service && p.releaseId === now.releaseId);
    // Counters only grow; a smaller reading means the release's counters started again.
    const fresh = !before || before.requests > now.requests;
    const requests = fresh ? now.requests : now.requests - before.requests;
    const failed = failures(now) - (fresh ? 0 : failures(before));
    let p95: number | null = null;
    if (requests > 0) {
      const window = fresh ? now.latency : subtractSnapshots(now.latency, before.latency);
      const estimate = estimatePercentile(window, 0.95);
      p95 = Number.isFinite(estimate) ? Math.round(estimate * 10) / 10 : null;
    }
    return {
      service: now.service,
      releaseId: now.releaseId,
      requests,
      requestsPerSecond: Math.round((requests / seconds) * 10) / 10,
      errorRate: requests > 0 ? Math.min(1, Math.max(0, failed / requests)) : null,
      p95Ms: p95,
      inFlight: now.inFlight,
    };
  });
}

function failures(counters: ReleaseCounters): number {
  return counters.status['5xx'] + counters.status.error;
}
