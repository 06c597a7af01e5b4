import type { Upstream } from '../index.js';
import { ReleaseCounterSet } from '../proxy/release-counters.js';

/**
 * What the fake holds for one release: the counters the embedded proxy keeps
 * (ReleaseCounterSet, so both count by the same rules) and the upstreams it
 * was routed to, whose health marks a drain forgets as the proxy does.
 */
export class FakeReleaseTraffic {
  readonly service: string;
  readonly releaseId: string;
  readonly counters: ReleaseCounterSet;
  readonly upstreamIds = new Set<string>();

  constructor(service: string, releaseId: string) {
    this.service = service;
    this.releaseId = releaseId;
    this.counters = new ReleaseCounterSet(service, releaseId);
  }

  bound(upstreams: readonly Upstream[]): void {
    for (const upstream of upstreams) this.upstreamIds.add(upstream.id);
  }
}
