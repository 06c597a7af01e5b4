import type { Logger } from 'pino';
import type { TargetEntry } from '../route-table.js';
import type { Upstream } from '../index.js';
import type { TargetBinding } from './release-traffic.js';
import type { UpstreamPool } from './upstream-pool.js';

/** What the proxy tells the controller when passive health takes an instance out of rotation or puts it back. */
export interface InstanceEjectionEvent {
  type: 'instance.ejected' | 'instance.restored';
  service: string;
  releaseId: string;
  upstreamId: string;
  /** ejected: the last failure seen (an error code, `timeout`, or `status 503`). */
  reason?: string;
  /** ejected: how many failures in a row. */
  failures?: number;
  /** ejected: how long it stays out. */
  ejectedForMs?: number;
}

interface Ejection {
  service: string;
  releaseId: string;
  /** Ejections that count towards the next one's length (see `eject`). */
  count: number;
  /** performance.now() of the last return to rotation, for the decay of `count`. */
  restoredAt: number;
  timer: NodeJS.Timeout | null;
  pool: UpstreamPool | null;
}

/**
 * Passive health (outlier detection, after Envoy's): the requests themselves
 * are the probe. An instance whose connect errors, timeouts or 5xx answers
 * come `consecutiveFailures` times in a row leaves rotation for a back-off:
 * `ejectionMs` times the number of its recent ejections, capped at
 * `maxEjectionMs`; each `ejectionMs` spent back in rotation forgets one.
 * Active health checks go straight to the instance and can stay green while
 * it hangs on real traffic: this is what sees that.
 *
 * Every failed attempt counts, those the proxy then sent to another instance
 * included: an instance that refuses connections costs each request sent to
 * it a retry (ProxyExchange), so after `consecutiveFailures` refusals it is
 * ejected and no longer picked, and no connection to it is attempted until
 * the back-off ends.
 *
 * It never ejects the last instance in rotation of a release (Envoy's
 * max_ejection_percent): with none left every request would get a 503, worse
 * than a slow or failing instance.
 *
 * It writes into the proxy's out-of-rotation set, which also holds the
 * instances the controller marked unhealthy; `isEjected` lets the proxy keep
 * the two apart. The hot path only touches a counter on the pool.
 */
export class PassiveHealth {
  private readonly ejections = new Map<string, Ejection>();
  private closed = false;

  constructor(
    private readonly outOfRotation: Set<string>,
    private readonly markedUnhealthy: ReadonlySet<string>,
    private readonly onEvent: ((event: InstanceEjectionEvent) => void) | undefined,
    private readonly logger: Logger | undefined,
  ) {}

  isEjected(upstreamId: string): boolean {
    return this.ejections.get(upstreamId)?.timer != null;
  }

  succeeded(pool: UpstreamPool): void {
    pool.consecutiveFailures = 0;
  }

  failed(pool: UpstreamPool, target: TargetEntry<TargetBinding>, reason: string): void {
    const threshold = pool.passiveHealth.consecutiveFailures;
    if (threshold === 0 || ++pool.consecutiveFailures < threshold) return;
    this.eject(pool, target, reason);
  }

  /**
   * An ejected instance that the route now lists at another address is a new
   * process (restarted in place after a crash or by health.restart_after): the
   * failures were the old process's, so the new one starts in rotation.
   */
  rebound(upstream: Upstream): void {
    const ejection = this.ejections.get(upstream.id);
    if (
      ejection === undefined ||
      ejection.timer === null ||
      ejection.pool === null ||
      ejection.pool.sameAddress(upstream)
    )
      return;
    clearTimeout(ejection.timer);
    this.ejections.delete(upstream.id);
    if (!this.markedUnhealthy.has(upstream.id)) this.outOfRotation.delete(upstream.id);
    this.report({
      type: 'instance.restored',
      service: ejection.service,
      releaseId: ejection.releaseId,
      upstreamId: upstream.id,
    });
  }

  /** Forgets an instance that left its release (drained, retired): no return event for it later. */
  forget(upstreamId: string): void {
    const ejection = this.ejections.get(upstreamId);
    if (ejection === undefined) return;
    if (ejection.timer !== null) clearTimeout(ejection.timer);
    this.ejections.delete(upstreamId);
  }

  close(): void {
    this.closed = true;
    for (const ejection of this.ejections.values()) if (ejection.timer !== null) clearTimeout(ejection.timer);
    this.ejections.clear();
  }

  private eject(pool: UpstreamPool, target: TargetEntry<TargetBinding>, reason: string): void {
    const id = pool.upstream.id;
    if (this.closed || this.outOfRotation.has(id)) return;
    if (!target.upstreams.some((other) => other.id !== id && !this.outOfRotation.has(other.id))) {
      this.logger?.warn(
        {
          service: target.service,
          release: target.releaseId,
          upstream: id,
          reason,
          failures: pool.consecutiveFailures,
        },
        'instance not ejected: it is the last one in rotation of its release',
      );
      return;
    }
    const policy = pool.passiveHealth;
    const now = performance.now();
    let ejection = this.ejections.get(id);
    if (ejection === undefined) {
      ejection = { service: target.service, releaseId: target.releaseId, count: 0, restoredAt: now, timer: null, pool };
      this.ejections.set(id, ejection);
    }
    const forgiven = Math.floor((now - ejection.restoredAt) / policy.ejectionMs);
    ejection.count = Math.max(0, ejection.count - forgiven) + 1;
    ejection.pool = pool;
    const ejectedForMs = Math.min(policy.ejectionMs * ejection.count, policy.maxEjectionMs);
    const failures = pool.consecutiveFailures;
    this.outOfRotation.add(id);
    ejection.timer = setTimeout(() => this.restore(id), ejectedForMs);
    ejection.timer.unref();
    this.report({
      type: 'instance.ejected',
      service: target.service,
      releaseId: target.releaseId,
      upstreamId: id,
      reason,
      failures,
      ejectedForMs,
    });
  }

  private restore(id: string): void {
    const ejection = this.ejections.get(id);
    if (ejection === undefined) return;
    ejection.timer = null;
    ejection.restoredAt = performance.now();
    if (ejection.pool !== null) ejection.pool.consecutiveFailures = 0;
    // Still out if the controller's health checks took it out meanwhile.
    if (!this.markedUnhealthy.has(id)) this.outOfRotation.delete(id);
    this.report({
      type: 'instance.restored',
      service: ejection.service,
      releaseId: ejection.releaseId,
      upstreamId: id,
    });
  }

  private report(event: InstanceEjectionEvent): void {
    this.logger?.warn(
      event,
      event.type === 'instance.ejected' ? 'instance ejected by passive health' : 'instance back in rotation',
    );
    try {
      this.onEvent?.(event);
    } catch (error) {
      this.logger?.warn({ err: error }, 'the instance ejection listener failed');
    }
  }
}
