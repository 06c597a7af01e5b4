import { LatencyHistogram } from '../../core/latency-histogram.js';
import type { ReleaseCounters } from '../index.js';
import { LatencyRing } from './latency-ring.js';

/** Latencies kept per release for `latencySamples`: enough for a rank test, bounded in memory (16 KB). */
export const LATENCY_SAMPLES_KEPT = 2_000;

/**
 * The traffic counters of one release, updated on the hot path with plain
 * field increments and turned into a `ReleaseCounters` object only when asked.
 *
 * - `requests` counts every request routed to the release, when it starts.
 * - a status class is counted when the upstream's response head arrives;
 *   `error` when the proxy answers itself (502 upstream failed, 503 no
 *   healthy instance). A request whose client left before either is in
 *   `requests` only.
 * - latency is measured from the request's arrival to the last byte of the
 *   upstream's response, for upstream responses only; the histogram keeps
 *   all of them, `recentLatencies` the last 2,000 as they were.
 */
export class ReleaseCounterSet {
  readonly service: string;
  readonly releaseId: string;
  requests = 0;
  status1xx = 0;
  status2xx = 0;
  status3xx = 0;
  status4xx = 0;
  status5xx = 0;
  errors = 0;
  inFlight = 0;
  openUpgrades = 0;
  readonly latency = new LatencyHistogram();
  readonly recentLatencies = new LatencyRing(LATENCY_SAMPLES_KEPT);

  constructor(service: string, releaseId: string) {
    this.service = service;
    this.releaseId = releaseId;
  }

  /** An upstream response completed after `ms`. */
  recordLatency(ms: number): void {
    this.latency.record(ms);
    this.recentLatencies.record(ms);
  }

  countStatus(statusCode: number): void {
    if (statusCode < 200) this.status1xx++;
    else if (statusCode < 300) this.status2xx++;
    else if (statusCode < 400) this.status3xx++;
    else if (statusCode < 500) this.status4xx++;
    else this.status5xx++;
  }

  snapshot(): ReleaseCounters {
    return {
      service: this.service,
      releaseId: this.releaseId,
      requests: this.requests,
      status: {
        '1xx': this.status1xx,
        '2xx': this.status2xx,
        '3xx': this.status3xx,
        '4xx': this.status4xx,
        '5xx': this.status5xx,
        error: this.errors,
      },
      inFlight: this.inFlight,
      openUpgrades: this.openUpgrades,
      latency: this.latency.snapshot(),
    };
  }
}
