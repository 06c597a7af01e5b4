import { EventEmitter } from 'node:events';
import type { ServiceConfig } from '../config/types.js';
import { CutoverError } from '../core/errors.js';
import { portConflictIn } from '../core/port-conflict.js';
import type { Slot } from '../core/slot.js';
import { systemClock } from '../clock/system-clock.js';
import type { Clock, ClockTimer } from '../core/clock.js';
import { runHealthCheck, watchHealth, type HealthProbe } from '../health/health-monitor.js';
import type { CheckResult, HealthStatus, HealthWatcher } from '../health/index.js';
import type { Router, Upstream } from '../router/index.js';
import type { InstanceExit, InstanceInfo, Runtime } from '../runtime/index.js';
import { everyInstanceFailed, failedHealthMessage } from '../core/release-health.js';
import { nextRestartDelay } from '../core/restart-backoff.js';
import type { Store } from '../store/store.js';
import { withLogTail } from '../core/log-tail-message.js';

export type { HealthProbe } from '../health/health-monitor.js';

export interface SupervisorOptions {
  /** Health check intervals, restart back-off, deploy deadlines (default: the system clock). */
  clock?: Clock;
  /** How an instance is judged (default: the configured HTTP/TCP/command check). */
  probe?: HealthProbe | undefined;
}

/**
 * Owns the running instances of every release: starts them, watches their
 * health, feeds health into the router, restarts crashed instances of
 * releases that serve traffic (and live ones that stay unhealthy past
 * `health.restart_after`: a hung app or one that closed its port never
 * exits), and stops them. The controller decides *what*
 * runs; this decides nothing about traffic.
 */
export interface ReleaseRef {
  service: ServiceConfig;
  releaseId: string;
  version: string;
  slot: Slot;
}

interface ManagedInstance {
  info: InstanceInfo;
  /** Adopted after a controller restart: counted healthy until a check says otherwise. */
  assumeHealthy: boolean;
  watcher: HealthWatcher | null;
  /** Crash restarts so far, for backoff; reset once the instance stayed up. */
  restarts: number;
  restartTimer: ClockTimer | null;
}

interface ManagedRelease {
  ref: ReleaseRef;
  instances: Map<number, ManagedInstance>;
  /** Crashed instances are restarted only for releases that serve (or may serve) traffic. */
  supervised: boolean;
  stopping: boolean;
}

export interface SupervisorEvents {
  health: [releaseId: string, instanceId: string, status: HealthStatus, last: CheckResult];
  /** An unhealthy instance completed its threshold of answered failures without a change of status. */
  'failed-threshold': [releaseId: string, instanceId: string];
  exit: [releaseId: string, exit: InstanceExit];
  /** The set of upstreams of a release changed (a restarted instance has a new port). */
  upstreams: [releaseId: string];
  restarted: [releaseId: string, info: InstanceInfo];
  /** A supervised instance is about to be restarted: it crashed, or failed `health.restart_after` checks while unhealthy. */
  restarting: [releaseId: string, restart: InstanceRestart];
}

export interface InstanceRestart {
  instance: InstanceInfo;
  reason: 'crashed' | 'unhealthy';
  /** The exit ("exited with code 1") or the last failing check ("HTTP 503 in 2 ms"). */
  detail: string;
  /** Restarts of this instance so far, this one included (the back-off's count). */
  restarts: number;
  delayMs: number;
}

/** The event that tells a person an instance is being restarted, and why. */
export function restartEvent(
  releaseId: string,
  restart: InstanceRestart,
): {
  operationId: null;
  service: string;
  releaseId: string;
  type: string;
  message: string;
  data: unknown;
  level: 'warn';
} {
  return {
    operationId: null,
    service: restart.instance.service,
    releaseId,
    type: restart.reason === 'unhealthy' ? 'instance.unhealthy-restart' : 'instance.crash-restart',
    message: `instance ${restart.instance.id} ${restart.detail}; restart ${restart.restarts} in ${restart.delayMs} ms`,
    data: {
      instance: restart.instance.id,
      reason: restart.reason,
      detail: restart.detail,
      restarts: restart.restarts,
      delayMs: restart.delayMs,
    },
    level: 'warn',
  };
}

export class InstanceSupervisor extends EventEmitter<SupervisorEvents> {
  private readonly releases = new Map<string, ManagedRelease>();
  private readonly byInstance = new Map<string, { release: ManagedRelease; index: number }>();
  private closed = false;
  /** Instances being drained before a stop: a passing health check must not put them back in rotation. */
  private readonly outOfRotation = new Set<string>();
  private readonly clock: Clock;
  private readonly probe: HealthProbe;

  constructor(
    private readonly runtime: Runtime,
    private readonly router: Router,
    private readonly store: Store,
    private readonly logger: { info: (o: object, m?: string) => void; warn: (o: object, m?: string) => void },
    options: SupervisorOptions = {},
  ) {
    super();
    this.clock = options.clock ?? systemClock;
    this.probe = options.probe ?? runHealthCheck;
    runtime.onExit((exit) => this.onExit(exit));
  }

  /** Starts every instance of a release. If one cannot be started, the others are stopped and the error is thrown. */
  async startRelease(ref: ReleaseRef): Promise<InstanceInfo[]> {
    const managed = this.manage(ref, false);
    const results = await Promise.allSettled(
      Array.from({ length: ref.service.instances }, (_, index) => this.startInstance(managed, index)),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await this.stopRelease(ref.releaseId);
      throw failed.reason instanceof CutoverError
        ? failed.reason
        : new CutoverError('INSTANCE_START_FAILED', String((failed.reason as Error)?.message ?? failed.reason));
    }
    return results.map((r) => (r as PromiseFulfilledResult<InstanceInfo>).value);
  }

  /**
   * Starts instances of a release at some indexes (a rolling batch). An instance
   * already at one of them (a failed try) is stopped first. If one cannot be
   * started, those started by this call are stopped and the error is thrown.
   */
  async startInstances(ref: ReleaseRef, indexes: number[]): Promise<InstanceInfo[]> {
    const managed = this.manage(ref, true);
    managed.stopping = false;
    await Promise.all(
      indexes.map(async (index) => {
        const existing = managed.instances.get(index);
        if (existing) {
          managed.instances.delete(index);
          await this.stopInstance(existing, ref.service.stopGracePeriodMs);
        }
      }),
    );
    const results = await Promise.allSettled(indexes.map((index) => this.startInstance(managed, index)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await this.stopInstances(ref.releaseId, indexes);
      throw failed.reason instanceof CutoverError
        ? failed.reason
        : new CutoverError('INSTANCE_START_FAILED', String(failed.reason));
    }
    return results.map((r) => (r as PromiseFulfilledResult<InstanceInfo>).value);
  }

  /** Stops the instances of a release at some indexes; the release is forgotten once it has none left. */
  async stopInstances(releaseId: string, indexes: number[]): Promise<void> {
    const managed = this.releases.get(releaseId);
    if (!managed) return;
    const targets = indexes.flatMap((i) => {
      const instance = managed.instances.get(i);
      if (!instance) return [];
      managed.instances.delete(i);
      return [instance];
    });
    await Promise.all(targets.map((m) => this.stopInstance(m, managed.ref.service.stopGracePeriodMs)));
    if (managed.instances.size === 0) this.releases.delete(releaseId);
  }

  /** Takes an instance out of rotation for good (it is about to be drained and stopped). */
  takeOutOfRotation(instanceId: string): void {
    this.outOfRotation.add(instanceId);
    this.router.setUpstreamHealthy(instanceId, false);
  }

  /** The instance of a release at an index, if it runs. */
  instanceAt(releaseId: string, index: number): InstanceInfo | null {
    return this.releases.get(releaseId)?.instances.get(index)?.info ?? null;
  }

  /** Takes back instances found alive after a controller restart; they are assumed healthy until a check says otherwise. */
  adoptRelease(ref: ReleaseRef, instances: InstanceInfo[], supervised: boolean): void {
    const managed = this.manage(ref, supervised);
    for (const info of instances) {
      const instance: ManagedInstance = { info, assumeHealthy: true, watcher: null, restarts: 0, restartTimer: null };
      managed.instances.set(info.index, instance);
      this.byInstance.set(info.id, { release: managed, index: info.index });
      this.watch(managed, instance);
    }
  }

  /** Starts the instances a release should have but does not (after a restart found some dead). */
  async fillRelease(releaseId: string): Promise<void> {
    const managed = this.releases.get(releaseId);
    if (!managed) return;
    const missing: number[] = [];
    for (let i = 0; i < managed.ref.service.instances; i++) if (!managed.instances.has(i)) missing.push(i);
    await Promise.allSettled(missing.map((i) => this.startInstance(managed, i)));
    // Closed meanwhile (a server stopped right after its start): nobody routes any more, the store may be shut.
    if (missing.length > 0 && !this.closed) this.emit('upstreams', releaseId);
  }

  /** Gives a release the instance count of `service` (a canary grows to full size before it takes all traffic). */
  async resize(releaseId: string, service: ServiceConfig): Promise<void> {
    const managed = this.releases.get(releaseId);
    if (!managed) return;
    managed.ref = { ...managed.ref, service };
    await this.fillRelease(releaseId);
  }

  setSupervised(releaseId: string, supervised: boolean): void {
    const managed = this.releases.get(releaseId);
    if (managed) managed.supervised = supervised;
  }

  isRunning(releaseId: string): boolean {
    const managed = this.releases.get(releaseId);
    return managed !== undefined && !managed.stopping && managed.instances.size > 0;
  }

  instancesOf(releaseId: string): {
    info: InstanceInfo;
    status: HealthStatus;
    last: CheckResult | null;
    restarts: number;
    /** Answered `unhealthy_threshold` failed checks in a row after its start period. */
    failedThreshold: boolean;
  }[] {
    const managed = this.releases.get(releaseId);
    if (!managed) return [];
    return [...managed.instances.values()]
      .sort((a, b) => a.info.index - b.info.index)
      .map((m) => ({
        info: m.info,
        status: statusOf(m),
        last: m.watcher?.lastResult() ?? null,
        restarts: m.restarts,
        failedThreshold: m.watcher?.failedThreshold() ?? false,
      }));
  }

  upstreamsOf(releaseId: string): Upstream[] {
    return this.instancesOf(releaseId).map(({ info }) => ({ id: info.id, host: info.host, port: info.port }));
  }

  /** Tells the router which upstreams of a release are healthy right now (after a setRoute). */
  syncRouterHealth(releaseId: string): void {
    for (const { info, status } of this.instancesOf(releaseId))
      this.router.setUpstreamHealthy(info.id, status === 'healthy' && !this.outOfRotation.has(info.id));
  }

  /**
   * Resolves when every instance of the release is healthy. Rejects with
   * INSTANCE_EXITED when one exits, HEALTH_FAILED as soon as every watched
   * instance has failed `unhealthy_threshold` checks in a row after its start
   * period (core/release-health.ts: nothing is left to wait for), HEALTH_TIMEOUT
   * at the deadline, or the signal's reason when aborted.
   */
  waitHealthy(releaseId: string, deadline: number, signal: AbortSignal, indexes?: number[]): Promise<void> {
    const wanted = indexes ? new Set(indexes) : null;
    const watched = (): ReturnType<InstanceSupervisor['instancesOf']> =>
      this.instancesOf(releaseId).filter((i) => wanted === null || wanted.has(i.info.index));
    return new Promise<void>((resolve, reject) => {
      const cleanup = (): void => {
        timer.cancel();
        this.off('health', onHealth);
        this.off('failed-threshold', onHealth);
        this.off('exit', onExit);
        signal.removeEventListener('abort', onAbort);
      };
      const check = (): void => {
        const list = watched();
        if (list.length > 0 && list.every((i) => i.status === 'healthy')) {
          cleanup();
          resolve();
          return;
        }
        const views = list.map((i) => ({
          id: i.info.id,
          status: i.status,
          failedThreshold: i.failedThreshold,
          lastDetail: i.last?.detail ?? null,
        }));
        if (everyInstanceFailed(views)) {
          cleanup();
          const health = this.releases.get(releaseId)?.ref.service.health;
          const thresholds = health ?? { unhealthyThreshold: 1, startPeriodMs: 0 };
          reject(new CutoverError('HEALTH_FAILED', failedHealthMessage(releaseId, views, thresholds)));
        }
      };
      const onHealth = (id: string): void => {
        if (id === releaseId) check();
      };
      const onExit = (id: string, exit: InstanceExit): void => {
        if (id !== releaseId || exit.expected || (wanted !== null && !wanted.has(exit.instance.index))) return;
        cleanup();
        void this.describeExit(exit).then((message) => reject(new CutoverError('INSTANCE_EXITED', message)));
      };
      const onAbort = (): void => {
        cleanup();
        reject(
          signal.reason instanceof Error ? signal.reason : new CutoverError('DEPLOY_ABORTED', String(signal.reason)),
        );
      };
      const onTimeout = (): void => {
        cleanup();
        const pending = watched().filter((i) => i.status !== 'healthy');
        const detail = pending
          .map((i) => `${i.info.id} is ${i.status} (last check: ${i.last?.detail ?? 'none yet'})`)
          .join('; ');
        reject(
          new CutoverError(
            'HEALTH_TIMEOUT',
            `release ${releaseId} was not healthy before the deploy timeout: ${detail}`,
          ),
        );
      };
      const timer = this.clock.schedule(onTimeout, Math.max(0, deadline - this.clock.now()));
      this.on('health', onHealth);
      this.on('failed-threshold', onHealth);
      this.on('exit', onExit);
      signal.addEventListener('abort', onAbort, { once: true });
      if (signal.aborted) {
        onAbort();
        return;
      }
      check();
    });
  }

  async stopRelease(releaseId: string): Promise<void> {
    const managed = this.releases.get(releaseId);
    if (!managed) return;
    managed.stopping = true;
    managed.supervised = false;
    await Promise.all(
      [...managed.instances.values()].map((m) => this.stopInstance(m, managed.ref.service.stopGracePeriodMs)),
    );
    this.releases.delete(releaseId);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.releases.keys()].map((id) => this.stopRelease(id)));
  }

  /** Stops watching without stopping anything: the instances serve on for the next controller to adopt. */
  detach(): void {
    this.closed = true;
    for (const managed of this.releases.values()) {
      managed.supervised = false;
      for (const instance of managed.instances.values()) {
        instance.watcher?.stop();
        instance.restartTimer?.cancel();
      }
    }
    this.releases.clear();
    this.byInstance.clear();
  }

  /** A crash explained for a person: exit code, the usual meaning, and the log's last lines. */
  async describeExit(exit: InstanceExit): Promise<string> {
    const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
    const meaning = exit.code === 127 ? ' (command not found)' : exit.code === 126 ? ' (command not executable)' : '';
    // A longer read to find the cause (Node's error dump runs to ~20 lines), the last lines to show.
    const longTail = (await this.runtime.tailLog(exit.instance.id, 40).catch(() => '')).trim();
    const tail = longTail.split('\n').slice(-5).join('\n');
    const conflict = portConflictIn(longTail);
    const port =
      conflict === null
        ? ''
        : `: a port conflict, ${conflict || 'its port'} is already in use (by the running release or another program); ` +
          `the app must listen on $PORT, which cutover sets to a free port (${exit.instance.host}:${exit.instance.port} for this instance)`;
    return withLogTail(`instance ${exit.instance.id} ${how}${meaning} before it became healthy${port}`, tail);
  }

  // --- internals --------------------------------------------------------------

  private manage(ref: ReleaseRef, supervised: boolean): ManagedRelease {
    let managed = this.releases.get(ref.releaseId);
    if (!managed) {
      managed = { ref, instances: new Map(), supervised, stopping: false };
      this.releases.set(ref.releaseId, managed);
    }
    return managed;
  }

  private async startInstance(managed: ManagedRelease, index: number): Promise<InstanceInfo> {
    const { ref } = managed;
    const info = await this.runtime.start({
      service: ref.service.name,
      releaseId: ref.releaseId,
      version: ref.version,
      slot: ref.slot,
      index,
      command: ref.service.command,
      shell: ref.service.shell,
      inheritEnv: ref.service.inheritEnv,
      cwd: ref.service.cwd,
      env: ref.service.env,
      stopGracePeriodMs: ref.service.stopGracePeriodMs,
    });
    if (this.closed) {
      // The supervisor stopped (or let go) while this start ran: nobody would watch the instance, so it stops.
      await this.runtime.stop(info.id, ref.service.stopGracePeriodMs);
      throw new CutoverError('INSTANCE_START_FAILED', `${info.id} started after the controller stopped`);
    }
    const previous = managed.instances.get(index);
    const instance: ManagedInstance = {
      info,
      assumeHealthy: false,
      watcher: null,
      restarts: previous?.restarts ?? 0,
      restartTimer: null,
    };
    managed.instances.set(index, instance);
    this.byInstance.set(info.id, { release: managed, index });
    this.store.saveInstance(info);
    this.watch(managed, instance);
    return info;
  }

  /**
   * With a runtime that knows its instances' own health (Docker's HEALTHCHECK), a passing
   * check counts only once that health is `healthy` too (or the image has none); a failing
   * one gets the runtime's reason, when it has one (Kubernetes: the kubelet's readiness verdict).
   */
  private containerHealthCheck(instanceId: string): ((result: CheckResult) => Promise<CheckResult>) | undefined {
    const runtime = this.runtime;
    if (!runtime.containerHealth) return undefined;
    return async (result) => {
      if (!result.ok) {
        // A failure stays one; the orchestrator's reason (a pod's failed readiness probe) says more than ours.
        const reason = runtime.healthReason?.(instanceId) ?? null;
        return reason ? { ...result, detail: `${result.detail}; ${reason}` } : result;
      }
      const own = await runtime.containerHealth!(instanceId);
      if (own === null || own === 'healthy') return result;
      const reason = runtime.healthReason?.(instanceId) ?? null;
      return {
        ok: false,
        detail: `${result.detail}, but ${reason ?? `the container's HEALTHCHECK says ${own}`}`,
        durationMs: result.durationMs,
        ...(own === 'starting' ? { pending: true } : {}),
      };
    };
  }

  private watch(managed: ManagedRelease, instance: ManagedInstance): void {
    const { info } = instance;
    instance.watcher = watchHealth(
      {
        instanceId: info.id,
        host: info.host,
        port: info.port,
        vars: { version: info.version, slot: info.slot, instance: String(info.index) },
      },
      managed.ref.service.health,
      (change) => {
        if (change.from === change.to) {
          this.emit('failed-threshold', info.releaseId, info.id);
          return;
        }
        instance.assumeHealthy = false;
        if (!this.outOfRotation.has(info.id)) this.router.setUpstreamHealthy(info.id, change.to === 'healthy');
        if (change.to === 'healthy' && instance.restarts > 0) {
          // Stayed up long enough to pass a check: the next crash starts the backoff anew after a minute.
          this.clock.schedule(() => {
            if (instance.watcher?.status() === 'healthy') instance.restarts = 0;
          }, 60_000);
        }
        this.logger.info(
          {
            service: info.service,
            release: info.releaseId,
            instance: info.id,
            from: change.from,
            to: change.to,
            detail: change.last.detail,
          },
          'instance health changed',
        );
        this.emit('health', info.releaseId, info.id, change.to, change.last);
      },
      this.clock,
      this.containerHealthCheck(info.id),
      (last) => this.restartUnhealthy(managed, instance, last),
      this.probe,
    );
  }

  private async stopInstance(instance: ManagedInstance, gracePeriodMs: number): Promise<void> {
    instance.watcher?.stop();
    instance.restartTimer?.cancel();
    this.router.setUpstreamHealthy(instance.info.id, false);
    await this.runtime.stop(instance.info.id, gracePeriodMs);
    this.byInstance.delete(instance.info.id);
    this.outOfRotation.delete(instance.info.id);
    this.store.deleteInstance(instance.info.id);
  }

  private onExit(exit: InstanceExit): void {
    const entry = this.byInstance.get(exit.instance.id);
    if (!entry) return;
    const { release: managed, index } = entry;
    const instance = managed.instances.get(index);
    if (!instance || instance.info.pid !== exit.instance.pid) return;
    this.emit('exit', managed.ref.releaseId, exit);
    if (exit.expected || managed.stopping) return;
    instance.watcher?.stop();
    this.router.setUpstreamHealthy(exit.instance.id, false);
    if (!managed.supervised || this.closed) return;
    const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
    this.scheduleRestart(managed, index, instance, 'crashed', how);
  }

  /**
   * A live instance that failed `health.restart_after` checks after it turned
   * unhealthy: it is already out of rotation (unhealthy), so it is stopped
   * now, gracefully, and started again in place on the crash back-off, as if
   * it had exited. Only in supervised releases, as for crashes: a deploy's own
   * timeout judges instances of a release that does not serve yet.
   */
  private restartUnhealthy(managed: ManagedRelease, instance: ManagedInstance, last: CheckResult): void {
    const { info } = instance;
    if (!managed.supervised || managed.stopping || this.closed || this.outOfRotation.has(info.id)) return;
    if (managed.instances.get(info.index) !== instance || instance.restartTimer) return;
    if (this.runtime.replacesUnhealthyInstances?.(info.id) === true) return;
    instance.watcher?.stop();
    this.router.setUpstreamHealthy(info.id, false);
    this.logger.warn(
      { service: info.service, release: info.releaseId, instance: info.id, detail: last.detail },
      'instance stayed unhealthy; restarting',
    );
    this.runtime.stop(info.id, managed.ref.service.stopGracePeriodMs).then(
      () => {
        // A stop of the release (or a new instance at this index) while this one stopped wins.
        if (managed.instances.get(info.index) !== instance || managed.stopping || this.closed) return;
        this.byInstance.delete(info.id);
        this.store.deleteInstance(info.id);
        this.scheduleRestart(
          managed,
          info.index,
          instance,
          'unhealthy',
          `failed its health check while unhealthy (${last.detail})`,
        );
      },
      (error: unknown) =>
        this.logger.warn({ instance: info.id, err: String(error) }, 'stopping the unhealthy instance failed'),
    );
  }

  /** The one restart path for crashed and unhealthy instances: back-off, restart count, event, start in place. */
  private scheduleRestart(
    managed: ManagedRelease,
    index: number,
    instance: ManagedInstance,
    reason: InstanceRestart['reason'],
    detail: string,
  ): void {
    const delay = nextRestartDelay(instance.restarts);
    instance.restarts += 1;
    const { info } = instance;
    this.logger.warn(
      {
        service: managed.ref.service.name,
        release: managed.ref.releaseId,
        instance: info.id,
        reason,
        detail,
        restartInMs: delay,
      },
      reason === 'crashed' ? 'instance crashed; restarting' : 'unhealthy instance stopped; restarting',
    );
    this.emit('restarting', managed.ref.releaseId, {
      instance: info,
      reason,
      detail,
      restarts: instance.restarts,
      delayMs: delay,
    });
    instance.restartTimer = this.clock.schedule(() => {
      instance.restartTimer = null;
      if (!managed.supervised || managed.stopping || this.closed || managed.instances.get(index) !== instance) return;
      this.startInstance(managed, index).then(
        (started) => {
          this.emit('restarted', managed.ref.releaseId, started);
          this.emit('upstreams', managed.ref.releaseId);
        },
        (error: unknown) => this.logger.warn({ instance: info.id, err: String(error) }, 'restart failed'),
      );
    }, delay);
  }
}

function statusOf(instance: ManagedInstance): HealthStatus {
  const status = instance.watcher?.status() ?? 'starting';
  return status === 'starting' && instance.assumeHealthy ? 'healthy' : status;
}
