import type { ReleaseCounters } from '../index.js';
import { ReleaseCounterSet } from '../proxy/release-counters.js';
import { LOG_FIELD_SEPARATOR } from './render-nginx-config.js';

/** One access log line, as `LOG_FORMAT_NAME` writes it. */
export interface AccessLogEntry {
  /** The release's upstream name (see nginx-names.ts `upstreamName`). */
  release: string;
  status: number;
  requestTimeMs: number;
  /** True when an upstream sent a response head; false when nginx answered itself (502, 504) or the client left first. */
  upstreamAnswered: boolean;
}

/** Parses a line of the cutover log format; null for anything else (a partial or foreign line). */
export function parseAccessLogLine(line: string): AccessLogEntry | null {
  const fields = line.split(LOG_FIELD_SEPARATOR);
  if (fields.length !== 6) return null;
  const [, release, status, requestTime, , headerTime] = fields as [string, string, string, string, string, string];
  const code = Number(status);
  const seconds = Number(requestTime);
  if (release.length === 0 || !Number.isInteger(code) || !Number.isFinite(seconds)) return null;
  // With retries the field lists every try ("-, 0.002" or "0.001 : 0.003"); the last one is the response the client got.
  const lastTry = headerTime.split(/[,:]/).pop()?.trim() ?? '-';
  return { release, status: code, requestTimeMs: seconds * 1000, upstreamAnswered: lastTry !== '-' && lastTry !== '' };
}

/**
 * The embedded proxy's counters, rebuilt from nginx's access log with the
 * same classes and the same latency buckets (ReleaseCounterSet):
 *
 * - `requests`: every logged request routed to the release;
 * - a status class when an upstream answered, with its `$request_time` as
 *   the latency (the proxy measures to the last byte of the upstream's
 *   response, nginx to the last byte sent to the client: close on loopback);
 * - `error` when nginx answered itself (no upstream response head: connect
 *   failure, timeout, no live upstream), except 499 (the client left), which
 *   the proxy too counts in `requests` only.
 *
 * `inFlight` and `openUpgrades` stay 0: nginx logs a request when it ends,
 * so the log cannot say what is in flight.
 */
export class AccessLogCounters {
  private readonly byRelease = new Map<string, ReleaseCounterSet>();

  /** Makes a release known (counted from now on, listed with zeros until it gets traffic). */
  track(release: string, service: string, releaseId: string): void {
    if (!this.byRelease.has(release)) this.byRelease.set(release, new ReleaseCounterSet(service, releaseId));
  }

  ingest(lines: readonly string[]): void {
    for (const line of lines) {
      const entry = parseAccessLogLine(line);
      if (entry === null) continue;
      const counters = this.byRelease.get(entry.release);
      // A release cutover never routed in this run (a line from before it attached).
      if (counters === undefined) continue;
      counters.requests++;
      if (entry.upstreamAnswered) {
        counters.countStatus(entry.status);
        counters.recordLatency(entry.requestTimeMs);
      } else if (entry.status !== 499) {
        counters.errors++;
      }
    }
  }

  snapshots(): ReleaseCounters[] {
    return [...this.byRelease.values()].map((counters) => counters.snapshot());
  }

  latencySamples(service: string, releaseId: string): number[] {
    for (const counters of this.byRelease.values()) {
      if (counters.service === service && counters.releaseId === releaseId) return counters.recentLatencies.toArray();
    }
    return [];
  }
}
