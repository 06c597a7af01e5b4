import { subtractSnapshots, type LatencySnapshot } from '../latency-histogram.js';

/**
 * What an analysis window's synthetic load got back, and how it joins the
 * real traffic the router counted. Pure: the load generator keeps a tally,
 * the builtin provider merges it with the router's window.
 *
 * A synthetic request "failed" as the builtin error-rate counts failures:
 * a 5xx, or no response at all (refused, reset, timed out), the way the proxy
 * counts a request it could not get an answer for as a 502/503 error.
 */
export interface SyntheticTally {
  /** Requests sent (each either answered, failed without an answer, or cancelled at the window's end). */
  requests: number;
  /** Requests that got an answer or failed (cancelled ones are neither). */
  responses: number;
  /** 5xx answers plus requests with no answer. */
  failed: number;
  /** Latency to the response headers of answered requests. */
  latency: LatencySnapshot;
}

/** The traffic of one release over a window, as the builtin provider judges it. */
export interface WindowTraffic {
  requests: number;
  responses: number;
  errors: number;
  latency: LatencySnapshot | null;
}

export function emptyTally(latency: LatencySnapshot): SyntheticTally {
  return { requests: 0, responses: 0, failed: 0, latency };
}

/** The tally between two readings of the same load (a window that began while the load already ran). */
export function tallySince(later: SyntheticTally, earlier: SyntheticTally): SyntheticTally {
  return {
    requests: Math.max(0, later.requests - earlier.requests),
    responses: Math.max(0, later.responses - earlier.responses),
    failed: Math.max(0, later.failed - earlier.failed),
    latency: subtractSnapshots(later.latency, earlier.latency),
  };
}

/**
 * Real and synthetic traffic of a window as one: responses and errors add up,
 * latencies join when both histograms have the same buckets. With different
 * buckets (a router configured otherwise) the side with more observations is
 * kept, rather than inventing where the other side's values fell.
 */
export function mergeTraffic(real: WindowTraffic, synthetic: SyntheticTally | null): WindowTraffic {
  if (synthetic === null || synthetic.responses === 0) return real;
  return {
    // `requests` stays what users sent: request-count is about real traffic.
    requests: real.requests,
    responses: real.responses + synthetic.responses,
    errors: real.errors + synthetic.failed,
    latency: mergeLatency(real.latency, synthetic.latency),
  };
}

function mergeLatency(real: LatencySnapshot | null, synthetic: LatencySnapshot): LatencySnapshot {
  if (real === null || real.count === 0) return synthetic;
  if (synthetic.count === 0) return real;
  const sameBuckets =
    real.bucketsMs.length === synthetic.bucketsMs.length &&
    real.bucketsMs.every((b, i) => b === synthetic.bucketsMs[i]);
  if (!sameBuckets) return real.count >= synthetic.count ? real : synthetic;
  return {
    bucketsMs: real.bucketsMs.slice(),
    counts: real.counts.map((c, i) => c + (synthetic.counts[i] ?? 0)),
    sumMs: real.sumMs + synthetic.sumMs,
    count: real.count + synthetic.count,
  };
}

/** "synthetic: 120 requests, 0 failed", for measurement messages and events. */
export function describeSynthetic(tally: Pick<SyntheticTally, 'requests' | 'failed'>): string {
  return `synthetic: ${tally.requests} request${tally.requests === 1 ? '' : 's'}, ${tally.failed} failed`;
}
