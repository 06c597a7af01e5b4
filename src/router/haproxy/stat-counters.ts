import { LatencyHistogram } from '../../core/latency-histogram.js';
import type { ReleaseCounters } from '../index.js';
import { LatencyRing } from '../proxy/latency-ring.js';
import { LATENCY_SAMPLES_KEPT } from '../proxy/release-counters.js';
import type { StatRow } from './haproxy-runtime-api.js';
import type { RequestLogEntry } from './request-log-line.js';

interface Totals {
  requests: number;
  s1xx: number;
  s2xx: number;
  s3xx: number;
  s4xx: number;
  s5xx: number;
  errors: number;
}

/** Deleted servers whose late log lines still count for their release (a line is read a moment after its request). */
const RETIRED_SERVERS_KEPT = 1_024;

interface ReleaseLatencies {
  histogram: LatencyHistogram;
  recent: LatencyRing;
}

/**
 * Per-release counters summed from `show stat`'s server rows. HAProxy's
 * counters live in its worker and are lost when a server is deleted or a
 * reload starts a new worker, so what a server counted is moved into its
 * release's retired totals right before either (`retire`, `rebase`).
 *
 * `requests` is the server's `req_tot`; a status class its `hrsp_Nxx`;
 * `error` its connection and response errors (no response from the
 * instance). `inFlight` is the sum of current sessions, upgraded connections
 * included (`openUpgrades` stays 0: `show stat` does not tell them apart).
 * Latencies come from the request log instead (`recordRequest`, fed by
 * request-log-stream.ts; `show stat` has only an average): the histogram
 * and the last LATENCY_SAMPLES_KEPT samples of each release, for requests a
 * server answered, as the embedded proxy and nginx keep them. They live in
 * cutover, so a reload or a deleted server loses none of them.
 */
export class StatCounters {
  private readonly releaseOf = new Map<string, { service: string; releaseId: string }>();
  private readonly latest = new Map<string, StatRow>();
  private readonly retired = new Map<string, Totals>();
  private readonly releases = new Map<string, { service: string; releaseId: string }>();
  private readonly retiredServers = new Map<string, { service: string; releaseId: string }>();
  private readonly latencies = new Map<string, ReleaseLatencies>();

  /** Counts the server's rows for the release from now on; the release is listed with zeros until it gets traffic. */
  track(serverKey: string, service: string, releaseId: string): void {
    this.releaseOf.set(serverKey, { service, releaseId });
    this.releases.set(releaseKey(service, releaseId), { service, releaseId });
  }

  /** A reading of `show stat`; rows of servers not tracked are ignored. */
  ingest(rows: readonly StatRow[]): void {
    for (const row of rows) {
      const key = statKey(row.backend, row.server);
      if (this.releaseOf.has(key)) this.latest.set(key, row);
    }
  }

  /** The server is about to be deleted: what it counted stays with its release. */
  retire(serverKey: string): void {
    const release = this.releaseOf.get(serverKey);
    const row = this.latest.get(serverKey);
    if (release !== undefined && row !== undefined) add(this.totalsOf(release.service, release.releaseId), row);
    this.latest.delete(serverKey);
    this.releaseOf.delete(serverKey);
    if (release !== undefined) {
      this.retiredServers.delete(serverKey);
      this.retiredServers.set(serverKey, release);
      if (this.retiredServers.size > RETIRED_SERVERS_KEPT) {
        const oldest = this.retiredServers.keys().next().value;
        if (oldest !== undefined) this.retiredServers.delete(oldest);
      }
    }
  }

  /** A request log line: its latency counts for the server's release when a server answered it. */
  recordRequest(entry: RequestLogEntry): void {
    if (!entry.serverAnswered) return;
    const key = statKey(entry.backend, entry.server);
    const release = this.releaseOf.get(key) ?? this.retiredServers.get(key);
    // A server cutover does not know (a line from before a restart without saved state).
    if (release === undefined) return;
    const latencies = this.latenciesOf(release.service, release.releaseId);
    latencies.histogram.record(entry.activeMs);
    latencies.recent.record(entry.activeMs);
  }

  /** The release's most recent latencies (ms), oldest first; empty before any was logged. */
  latencySamples(service: string, releaseId: string): number[] {
    return this.latencies.get(releaseKey(service, releaseId))?.recent.toArray() ?? [];
  }

  /** A reload is about to start a worker whose counters begin at 0. */
  rebase(): void {
    for (const [key, row] of this.latest) {
      const release = this.releaseOf.get(key);
      if (release !== undefined) add(this.totalsOf(release.service, release.releaseId), row);
    }
    this.latest.clear();
  }

  /** Current sessions of a server in the latest reading. */
  current(serverKey: string): number {
    return this.latest.get(serverKey)?.current ?? 0;
  }

  snapshots(): ReleaseCounters[] {
    const out = new Map<string, ReleaseCounters>();
    for (const { service, releaseId } of this.releases.values()) {
      const totals = this.retired.get(releaseKey(service, releaseId));
      out.set(releaseKey(service, releaseId), {
        service,
        releaseId,
        requests: totals?.requests ?? 0,
        status: {
          '1xx': totals?.s1xx ?? 0,
          '2xx': totals?.s2xx ?? 0,
          '3xx': totals?.s3xx ?? 0,
          '4xx': totals?.s4xx ?? 0,
          '5xx': totals?.s5xx ?? 0,
          error: totals?.errors ?? 0,
        },
        inFlight: 0,
        openUpgrades: 0,
        latency: (this.latencies.get(releaseKey(service, releaseId))?.histogram ?? new LatencyHistogram()).snapshot(),
      });
    }
    for (const [key, row] of this.latest) {
      const release = this.releaseOf.get(key);
      if (release === undefined) continue;
      const counters = out.get(releaseKey(release.service, release.releaseId));
      if (counters === undefined) continue;
      counters.requests += row.requests;
      counters.status['1xx'] += row.status['1xx'];
      counters.status['2xx'] += row.status['2xx'];
      counters.status['3xx'] += row.status['3xx'];
      counters.status['4xx'] += row.status['4xx'];
      counters.status['5xx'] += row.status['5xx'];
      counters.status.error += row.connectionErrors + row.responseErrors;
      counters.inFlight += row.current;
    }
    return [...out.values()];
  }

  private latenciesOf(service: string, releaseId: string): ReleaseLatencies {
    const key = releaseKey(service, releaseId);
    let latencies = this.latencies.get(key);
    if (latencies === undefined) {
      latencies = { histogram: new LatencyHistogram(), recent: new LatencyRing(LATENCY_SAMPLES_KEPT) };
      this.latencies.set(key, latencies);
    }
    return latencies;
  }

  private totalsOf(service: string, releaseId: string): Totals {
    const key = releaseKey(service, releaseId);
    let totals = this.retired.get(key);
    if (totals === undefined) {
      totals = { requests: 0, s1xx: 0, s2xx: 0, s3xx: 0, s4xx: 0, s5xx: 0, errors: 0 };
      this.retired.set(key, totals);
    }
    return totals;
  }
}

export function statKey(backend: string, server: string): string {
  return `${backend}/${server}`;
}

function releaseKey(service: string, releaseId: string): string {
  return JSON.stringify([service, releaseId]);
}

function add(totals: Totals, row: StatRow): void {
  totals.requests += row.requests;
  totals.s1xx += row.status['1xx'];
  totals.s2xx += row.status['2xx'];
  totals.s3xx += row.status['3xx'];
  totals.s4xx += row.status['4xx'];
  totals.s5xx += row.status['5xx'];
  totals.errors += row.connectionErrors + row.responseErrors;
}
