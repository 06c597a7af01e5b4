import { setTimeout as delay } from 'node:timers/promises';
import type { ReleaseCounters } from '../index.js';
import { ReleaseTraffic } from './release-traffic.js';

/** Released targets kept for their counters after a drain, per service. */
const RETIRED_RELEASES_KEPT = 5;

/**
 * How often an upstream drain looks whether its instance went idle. Polled
 * rather than notified so that ending a request stays one decrement.
 */
const UPSTREAM_DRAIN_POLL_MS = 5;

/**
 * The traffic of every release the proxy knows: the releases that receive
 * or still carry traffic (requests routed by an older table keep their
 * release until they complete), and the last few drained ones of each
 * service, kept so their counters stay readable. Touched when a route is
 * bound, drained or read, never by a request on its way.
 */
export class ReleaseRegistry {
  /** Releases that receive or still carry traffic, by `service\0releaseId`. */
  private readonly live = new Map<string, ReleaseTraffic>();
  /** Drained releases, kept (a few per service) so their counters stay readable. */
  private readonly retired: ReleaseTraffic[] = [];

  /** A release that receives or still carries traffic; undefined for one drained or never routed. */
  get(service: string, releaseId: string): ReleaseTraffic | undefined {
    return this.live.get(releaseKey(service, releaseId));
  }

  /** The traffic of a release a route sends requests to, made the first time it is routed. */
  routed(service: string, releaseId: string): ReleaseTraffic {
    const key = releaseKey(service, releaseId);
    let traffic = this.live.get(key);
    if (traffic === undefined) {
      // A drained release routed again (a rollback) continues its counters.
      const retiredAt = this.retired.findIndex((r) => r.service === service && r.releaseId === releaseId);
      const revived = retiredAt >= 0 ? this.retired.splice(retiredAt, 1)[0] : undefined;
      traffic = revived ?? new ReleaseTraffic(service, releaseId);
      this.live.set(key, traffic);
    }
    return traffic;
  }

  /** A drained release leaves the live ones; the oldest retired one of its service goes past RETIRED_RELEASES_KEPT. */
  retire(traffic: ReleaseTraffic): void {
    this.live.delete(releaseKey(traffic.service, traffic.releaseId));
    this.retired.push(traffic);
    const sameService = this.retired.filter((r) => r.service === traffic.service);
    if (sameService.length > RETIRED_RELEASES_KEPT) {
      this.retired.splice(this.retired.indexOf(sameService[0] as ReleaseTraffic), 1);
    }
  }

  /** True when a live release has a pool to the instance, open or still finishing requests. */
  carriesUpstream(upstreamId: string): boolean {
    for (const traffic of this.live.values()) if (traffic.hasUpstream(upstreamId)) return true;
    return false;
  }

  /** Requests and tunnels in flight to one instance, over every release that has a pool to it. */
  upstreamLoad(upstreamId: string): number {
    let load = 0;
    for (const traffic of this.live.values()) load += traffic.upstreamLoad(upstreamId);
    return load;
  }

  /** Resolves true once nothing is in flight to the instance, false when `timeoutMs` passes first. */
  async waitUntilUpstreamIdle(upstreamId: string, timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (this.upstreamLoad(upstreamId) > 0) {
      const left = deadline - performance.now();
      if (left <= 0) return false;
      await delay(Math.min(UPSTREAM_DRAIN_POLL_MS, left));
    }
    return true;
  }

  /**
   * Closes every live release's pools to one instance (see
   * `ReleaseTraffic.closeUpstream`). The pools are marked closed before this
   * returns its promise; it resolves to how many requests and tunnels were cut.
   */
  async closeUpstream(upstreamId: string, reason: Error): Promise<number> {
    const closing = [...this.live.values()].map((traffic) => traffic.closeUpstream(upstreamId, reason));
    let closed = 0;
    for (const cut of await Promise.all(closing)) closed += cut;
    return closed;
  }

  /** Asks every upgraded connection of the live releases to close (a proxy generation retiring). */
  goAwayUpgrades(): void {
    for (const traffic of this.live.values()) traffic.goAwayUpgrades();
  }

  /** Cuts what the live releases still carry and closes their pools (the proxy's full stop). */
  async closeAll(reason: Error): Promise<void> {
    await Promise.all([...this.live.values()].map((traffic) => traffic.closeAll(reason)));
  }

  /** The counters of every release, the retired ones first. */
  counters(): ReleaseCounters[] {
    const all = [...this.retired, ...this.live.values()];
    return all.map((traffic) => traffic.counters.snapshot());
  }

  /** The last 2,000 upstream latencies (ms) of a release, oldest first; empty for an unknown release. */
  latencySamples(service: string, releaseId: string): number[] {
    const traffic =
      this.get(service, releaseId) ?? this.retired.find((r) => r.service === service && r.releaseId === releaseId);
    return traffic === undefined ? [] : traffic.counters.recentLatencies.toArray();
  }
}

function releaseKey(service: string, releaseId: string): string {
  return `${service}\0${releaseId}`;
}
