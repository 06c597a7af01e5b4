import type { Upstream } from '../index.js';
import { ReleaseCounterSet } from './release-counters.js';
import type { UpgradedConnection } from './upgraded-connection.js';
import { UpstreamPool, type UpstreamPoolOptions } from './upstream-pool.js';

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
  /**
   * Pools replaced or dropped by a route change, closing gracefully while
   * requests routed before the change finish on them. Kept until idle so an
   * upstream drain still waits for those requests.
   */
  private retiringPools: UpstreamPool[] = [];
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
   * (or listed at another address) is closed gracefully: its in-flight
   * requests finish first. A pool closed by an upstream drain is replaced by a
   * new one, so an instance routed again after its drain gets connections again.
   */
  poolsFor(upstreams: readonly Upstream[], options: UpstreamPoolOptions): UpstreamPool[] {
    this.retiringPools = this.retiringPools.filter((pool) => !pool.isIdle);
    const result: UpstreamPool[] = [];
    const listed = new Set<string>();
    for (const upstream of upstreams) {
      listed.add(upstream.id);
      let pool = this.pools.get(upstream.id);
      if (pool === undefined || pool.isClosed || !pool.sameAddress(upstream)) {
        if (pool !== undefined) this.retirePool(pool);
        pool = new UpstreamPool(upstream, options);
        this.pools.set(upstream.id, pool);
      }
      result.push(pool);
    }
    for (const [id, pool] of this.pools) {
      if (listed.has(id)) continue;
      this.pools.delete(id);
      this.retirePool(pool);
    }
    return result;
  }

  upstreamIds(): string[] {
    return [...this.pools.values()].map((pool) => pool.upstream.id);
  }

  /** True when this release has a pool to the upstream, open or still finishing requests. */
  hasUpstream(upstreamId: string): boolean {
    return this.pools.has(upstreamId) || this.retiringPools.some((pool) => pool.upstream.id === upstreamId);
  }

  /** Requests and upgraded connections in flight to one upstream, over every pool of this release to it. */
  upstreamLoad(upstreamId: string): number {
    let load = this.pools.get(upstreamId)?.load ?? 0;
    for (const pool of this.retiringPools) if (pool.upstream.id === upstreamId) load += pool.load;
    return load;
  }

  /**
   * Closes every pool of this release to one upstream: gracefully when idle,
   * else destroyed, which fails its requests and cuts its upgraded
   * connections. Pools are marked closed before this returns its promise (a
   * route rebuilt right after replaces them); resolves to how much was cut.
   */
  async closeUpstream(upstreamId: string, reason: Error): Promise<number> {
    const pools = this.retiringPools.filter((pool) => pool.upstream.id === upstreamId);
    this.retiringPools = this.retiringPools.filter((pool) => pool.upstream.id !== upstreamId);
    const active = this.pools.get(upstreamId);
    // Left in the map, closed: poolsFor replaces it if the upstream is routed again.
    if (active !== undefined) pools.push(active);
    let cut = 0;
    const closing: Promise<void>[] = [];
    for (const pool of pools) {
      const load = pool.load;
      cut += load;
      closing.push(load === 0 ? pool.close() : pool.destroy(reason));
    }
    await Promise.all(closing);
    return cut;
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

  /** Asks every open upgraded connection to close (a proxy generation retiring). */
  goAwayUpgrades(): void {
    for (const connection of [...this.upgrades]) connection.goAway();
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
    const pools = [...this.pools.values(), ...this.retiringPools];
    this.pools.clear();
    this.retiringPools = [];
    // Idle pools close gracefully; a pool still carrying requests is destroyed, which fails them.
    await Promise.all(pools.map((pool) => (cut === 0 ? pool.close() : pool.destroy(reason))));
    return cut;
  }

  /** Starts a graceful close; a pool still carrying requests is kept until they end (an upstream drain waits for them). */
  private retirePool(pool: UpstreamPool): void {
    if (!pool.isIdle) this.retiringPools.push(pool);
    void pool.close();
  }

  private notifyIfIdle(): void {
    if (!this.isIdle) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const waiter of waiters) waiter();
  }
}
