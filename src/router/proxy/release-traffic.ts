import type { Upstream } from '../index.js';
import { ReleaseCounterSet } from './release-counters.js';
import { UpstreamPool, type UpstreamPoolOptions } from './upstream-pool.js';

/** An upgraded connection (WebSocket tunnel) the release must be able to cut when a drain times out. */
export interface UpgradedConnection {
  destroy(): void;
}

/** What a route-table target carries for the proxy: its release's traffic and one pool per upstream, in upstream order. */
export interface TargetBinding {
  readonly traffic: ReleaseTraffic;
  readonly pools: readonly UpstreamPool[];
}

/**
 * Everything the proxy holds for one release: counters, the pools to its
 * upstreams, its open upgraded connections, and whoever waits for it to go
 * idle (a drain). A release stays known after a switch until it is drained,
 * because requests routed by the old table still use it.
 */
export class ReleaseTraffic {
  readonly service: string;
  readonly releaseId: string;
  readonly counters: ReleaseCounterSet;
  private readonly pools = new Map<string, UpstreamPool>();
  private readonly upgrades = new Set<UpgradedConnection>();
  private idleWaiters: (() => void)[] = [];

  constructor(service: string, releaseId: string) {
    this.service = service;
    this.releaseId = releaseId;
    this.counters = new ReleaseCounterSet(service, releaseId);
  }

  /**
   * The pools for a target's upstreams, in the same order. Pools are kept per
   * upstream id across route changes; a pool for an upstream no longer listed
   * is closed gracefully (its in-flight requests finish first).
   */
  poolsFor(upstreams: readonly Upstream[], options: UpstreamPoolOptions): UpstreamPool[] {
    const result: UpstreamPool[] = [];
    const listed = new Set<string>();
    for (const upstream of upstreams) {
      listed.add(upstream.id);
      let pool = this.pools.get(upstream.id);
      if (pool === undefined || pool.isClosed || !pool.sameAddress(upstream)) {
        if (pool !== undefined && !pool.isClosed) void pool.close();
        pool = new UpstreamPool(upstream, options);
        this.pools.set(upstream.id, pool);
      }
      result.push(pool);
    }
    for (const [id, pool] of this.pools) {
      if (listed.has(id)) continue;
      this.pools.delete(id);
      void pool.close();
    }
    return result;
  }

  upstreamIds(): string[] {
    return [...this.pools.values()].map((pool) => pool.upstream.id);
  }

  get isIdle(): boolean {
    return this.counters.inFlight === 0 && this.upgrades.size === 0;
  }

  requestStarted(): void {
    this.counters.inFlight++;
  }

  requestEnded(): void {
    if (--this.counters.inFlight === 0 && this.idleWaiters.length > 0) this.notifyIfIdle();
  }

  upgradeOpened(connection: UpgradedConnection): void {
    this.upgrades.add(connection);
    this.counters.openUpgrades = this.upgrades.size;
  }

  upgradeClosed(connection: UpgradedConnection): void {
    if (!this.upgrades.delete(connection)) return;
    this.counters.openUpgrades = this.upgrades.size;
    if (this.idleWaiters.length > 0) this.notifyIfIdle();
  }

  /** Resolves true once no request or upgraded connection is open, false when `timeoutMs` passes first. */
  waitUntilIdle(timeoutMs: number): Promise<boolean> {
    if (this.isIdle) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.idleWaiters = this.idleWaiters.filter((w) => w !== waiter);
        resolve(false);
      }, timeoutMs);
      this.idleWaiters.push(waiter);
    });
  }

  /**
   * Cuts what is still open (requests fail, upgraded connections are
   * destroyed) and closes every pool. Returns how many requests and upgraded
   * connections were cut.
   */
  async closeAll(reason: Error): Promise<number> {
    const cut = this.counters.inFlight + this.upgrades.size;
    for (const connection of [...this.upgrades]) connection.destroy();
    const pools = [...this.pools.values()];
    this.pools.clear();
    // Idle pools close gracefully; a pool still carrying requests is destroyed, which fails them.
    await Promise.all(pools.map((pool) => (cut === 0 ? pool.close() : pool.destroy(reason))));
    return cut;
  }

  private notifyIfIdle(): void {
    if (!this.isIdle) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const waiter of waiters) waiter();
  }
}
