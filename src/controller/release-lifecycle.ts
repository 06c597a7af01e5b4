import type { Logger } from 'pino';
import type { ServiceConfig } from '../config/types.js';
import type { Clock, ClockTimer } from '../core/clock.js';
import { CutoverError } from '../core/errors.js';
import { releasesToPrune } from '../core/release-selection.js';
import type { Slot } from '../core/slot.js';
import type { ServiceMigrations } from '../migrate/service-migrations.js';
import type { Router, ServiceRoute } from '../router/index.js';
import type { OperationRecord, ReleaseRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { contractAfterRetire } from './database-hooks.js';
import type { EventLog } from './event-log.js';
import type { InstanceSupervisor } from './instance-supervisor.js';

export interface ReleaseLifecycleDeps {
  store: Store;
  router: Router;
  supervisor: InstanceSupervisor;
  events: EventLog;
  logger: Logger;
  clock: Clock;
  /** The services' databases, once attached (contract migrations run when a release stops). */
  migrations: () => ServiceMigrations | null;
  /** Deletes a pruned release's instance logs (the runtime's files; absent in tests without any). */
  removeReleaseLogs: ((service: string, releaseId: string) => void) | null;
}

/**
 * What every strategy shares once a release exists: the route that names it,
 * the atomic switch, the standby window (scale_down_delay) and the stop after
 * it, slots freed for a new deploy, pruning past the rollback limit, and the
 * operation's outcome with whoever waits for it. The runners decide *when*;
 * this module is the one place that knows *how*.
 */
export class ReleaseLifecycle {
  private readonly waiters = new Map<string, ((op: OperationRecord) => void)[]>();
  private readonly scaleDownTimers = new Map<string, ClockTimer>();
  private readonly drains = new Map<string, Promise<unknown>>();

  constructor(private readonly deps: ReleaseLifecycleDeps) {}

  activeRelease(name: string): ReleaseRecord | null {
    const id = this.deps.store.getService(name).activeReleaseId;
    return id ? this.deps.store.getRelease(id) : null;
  }

  /** Resolves when the operation has an outcome (at once if it has one already). */
  waitFor(operationId: string): Promise<OperationRecord> {
    const op = this.deps.store.getOperation(operationId);
    if (!op) return Promise.reject(new CutoverError('OPERATION_NOT_FOUND', `no operation ${operationId}`));
    if (op.outcome) return Promise.resolve(op);
    return new Promise((resolve) => {
      const list = this.waiters.get(operationId) ?? [];
      list.push(resolve);
      this.waiters.set(operationId, list);
    });
  }

  completeOperation(
    operationId: string,
    service: string,
    outcome: 'succeeded' | 'failed' | 'aborted',
    error: { code: string; message: string; hint?: string } | null,
    now: number,
  ): void {
    const { store } = this.deps;
    store.finishOperation(operationId, outcome, error, now);
    store.releaseLock(service, operationId);
    const done = store.getOperation(operationId)!;
    for (const resolve of this.waiters.get(operationId) ?? []) resolve(done);
    this.waiters.delete(operationId);
  }

  routeFor(service: ServiceConfig, release: ReleaseRecord | null): ServiceRoute {
    return {
      service: service.name,
      hosts: service.hosts,
      default: service.default,
      ...(service.paths === undefined ? {} : { paths: service.paths }),
      ...(service.maxBodyBytes === undefined ? {} : { maxBodyBytes: service.maxBodyBytes }),
      ...(service.protocol === undefined ? {} : { protocol: service.protocol }),
      target: release
        ? {
            releaseId: release.id,
            version: release.version,
            slot: release.slot,
            upstreams: this.deps.supervisor.upstreamsOf(release.id),
          }
        : null,
    };
  }

  /**
   * The atomic switch: one setRoute call, then the store. A router that cannot
   * apply the route (nginx -t, a failed reload) throws before anything is
   * recorded, so the store never names a release the router does not serve.
   * A crash between the two leaves the store on the old release, and recovery
   * routes to it again. Requests in flight on the old release drain.
   */
  async switchTraffic(service: ServiceConfig, to: ReleaseRecord, operationId: string): Promise<void> {
    const { store, router, supervisor, events, logger, clock } = this.deps;
    const from = this.activeRelease(service.name);
    await router.setRoute(this.routeFor(service, { ...to, slot: to.slot }));
    supervisor.setSupervised(to.id, true);
    const now = clock.now();
    this.cancelScaleDown(to.id);
    store.transaction(() => {
      store.setActiveRelease(service.name, to.id, now);
      store.updateRelease(to.id, { state: 'active', activatedAt: now, scaleDownAt: null, slot: to.slot });
      if (from && from.id !== to.id) store.updateRelease(from.id, { state: 'standby' });
    });
    supervisor.syncRouterHealth(to.id);
    events.record({
      operationId,
      service: service.name,
      releaseId: to.id,
      type: 'traffic.switched',
      message: `traffic switched: ${from ? `${from.version} (${from.id}, ${from.slot})` : 'nothing'} → ${to.version} (${to.id}, ${to.slot})`,
      data: { from: from?.id ?? null, to: to.id, at: now },
    });
    if (from && from.id !== to.id) {
      const drain = router.drain(service.name, from.id, service.drainTimeoutMs).then(
        (result) => {
          events.record({
            operationId: null,
            service: service.name,
            releaseId: from.id,
            type: 'release.drained',
            message: result.drained
              ? `${from.id} drained: no request in flight`
              : `${from.id} drain timeout (${service.drainTimeoutMs} ms): closed ${result.closed} connection(s)`,
            data: result,
          });
        },
        (error: unknown) => logger.warn({ err: error, release: from.id }, 'drain failed'),
      );
      this.drains.set(from.id, drain);
    }
  }

  /** Keeps the previous release running for scale_down_delay (or stops it now) so rollback stays instant. */
  retire(service: ServiceConfig, releaseId: string, immediately: boolean, operationId: string | null): void {
    const { store, supervisor, events, clock } = this.deps;
    const release = store.getRelease(releaseId);
    if (!release || release.state !== 'standby') return;
    if (!supervisor.isRunning(releaseId)) {
      store.updateRelease(releaseId, { state: 'stopped', scaleDownAt: null });
      void contractAfterRetire(this.deps, this.deps.migrations(), service, releaseId);
      return;
    }
    const delay = immediately || !('scaleDownDelayMs' in service.strategy) ? 0 : service.strategy.scaleDownDelayMs;
    const at = clock.now() + delay;
    store.updateRelease(releaseId, { scaleDownAt: at });
    events.record({
      operationId,
      service: service.name,
      releaseId,
      type: 'release.standby',
      message: immediately
        ? `${releaseId} stops once drained (auto cleanup)`
        : `${releaseId} stays in slot ${release.slot} for instant rollback until ${new Date(at).toISOString()}`,
    });
    this.scheduleScaleDown(service, releaseId, at);
  }

  scheduleScaleDown(service: ServiceConfig, releaseId: string, at: number): void {
    this.cancelScaleDown(releaseId);
    const timer = this.deps.clock.schedule(
      () => {
        this.scaleDownTimers.delete(releaseId);
        this.scaleDown(service, releaseId, null).catch((error: unknown) =>
          this.deps.logger.warn({ err: error, release: releaseId }, 'scale down failed'),
        );
      },
      Math.max(0, at - this.deps.clock.now()),
    );
    this.scaleDownTimers.set(releaseId, timer);
  }

  private cancelScaleDown(releaseId: string): void {
    this.scaleDownTimers.get(releaseId)?.cancel();
    this.scaleDownTimers.delete(releaseId);
  }

  /** Stops a standby release once its drain finished. A release that became active again is left alone. */
  async scaleDown(service: ServiceConfig, releaseId: string, operationId: string | null): Promise<void> {
    const { store, supervisor, events } = this.deps;
    this.cancelScaleDown(releaseId);
    await this.drains.get(releaseId);
    const release = store.getRelease(releaseId);
    if (!release || release.state !== 'standby') return;
    await supervisor.stopRelease(releaseId);
    this.drains.delete(releaseId);
    store.updateRelease(releaseId, { state: 'stopped', scaleDownAt: null });
    events.record({
      operationId,
      service: service.name,
      releaseId,
      type: 'release.stopped',
      message: `${releaseId} (${release.version}) stopped in slot ${release.slot}; rollback to it restarts it`,
    });
    this.prune(service);
    // Inside an operation (cleanup) the contract step is awaited, so the operation's output names what it applied.
    const contracting = contractAfterRetire(this.deps, this.deps.migrations(), service, releaseId, operationId);
    if (operationId !== null) await contracting;
  }

  /** A deploy into a slot still held by a standby release replaces that release. */
  async freeSlot(service: ServiceConfig, slot: Slot, operationId: string): Promise<void> {
    const occupant = this.deps.store.listReleases(service.name).find((r) => r.slot === slot && r.state === 'standby');
    if (!occupant) return;
    this.deps.events.record({
      operationId,
      service: service.name,
      releaseId: occupant.id,
      type: 'release.replaced',
      message: `stopping standby ${occupant.id} (${occupant.version}) to free slot ${slot}`,
    });
    await this.scaleDown(service, occupant.id, operationId);
  }

  prune(service: ServiceConfig): void {
    const { store, events, logger } = this.deps;
    for (const release of releasesToPrune(store.listReleases(service.name), service.rollbackLimit)) {
      store.updateRelease(release.id, { state: 'pruned' });
      events.record({
        operationId: null,
        service: service.name,
        releaseId: release.id,
        type: 'release.pruned',
        message: `${release.id} (${release.version}) is past the rollback limit of ${service.rollbackLimit}`,
      });
      // It can never run again: its logs would only grow the state directory for ever.
      try {
        this.deps.removeReleaseLogs?.(service.name, release.id);
      } catch (error) {
        logger.warn({ err: error, release: release.id }, 'the logs of a pruned release could not be deleted');
      }
    }
  }

  /** A restarted instance of the active release has a new port: its route must list it. */
  refreshActiveRoute(service: ServiceConfig, release: ReleaseRecord): void {
    this.deps.router.setRoute(this.routeFor(service, release)).then(
      () => this.deps.supervisor.syncRouterHealth(release.id),
      (error: unknown) =>
        this.deps.logger.error(
          { err: error, release: release.id },
          'the route with the restarted instance could not be applied',
        ),
    );
  }

  /** Scale-down timers end with the controller; recovery re-arms them from the store. */
  close(): void {
    for (const timer of this.scaleDownTimers.values()) timer.cancel();
    this.scaleDownTimers.clear();
  }
}
