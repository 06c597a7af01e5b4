import type { Clock } from '../../core/clock.js';
import { CutoverError } from '../../core/errors.js';
import { systemClock } from '../../clock/system-clock.js';
import { ExitListeners } from '../exit-listeners.js';
import type { InstanceExit, InstanceInfo, InstanceSpec, Runtime, RuntimeListener } from '../index.js';

export type FakeHealth = 'healthy' | 'unhealthy';

/**
 * An instance still alive after its controller died: what `survivors()`
 * hands to the next FakeRuntime (`alive`), the way a detached process or a
 * container outlives a crashed controller. Its log and health go with it,
 * as a log file and the app's own state would.
 */
export interface FakeSurvivor extends InstanceInfo {
  log: readonly string[];
  health: FakeHealth | null;
}

export interface FakeRuntimeOptions {
  /** Times stops and readiness; default the system clock. Tests pass a ManualClock. */
  clock?: Clock;
  host?: string;
  /** First port handed out; each instance gets the next one, never one still held. Default 41000. */
  firstPort?: number;
  /** Instances alive on the "machine" when this runtime starts (after a controller restart); only `adopt` takes them back. */
  alive?: readonly FakeSurvivor[];
  /** An instance answers its probe only this long after its start (a slow start). Default 0. */
  readyAfterMs?: number;
  /** How long an instance takes to exit after a stop; past the grace period it is killed (SIGKILL). Default 0: at once. */
  exitAfterStopMs?: number;
  /** Grace period for adopted instances, whose spec is not recorded (as in the process runtime). Default 10 s. */
  defaultStopGracePeriodMs?: number;
}

interface FakeInstance {
  info: InstanceInfo;
  /** The port the app really listens on: `info.port`, or a hard-coded one (see `fixedPorts`). */
  listening: number | null;
  health: FakeHealth | null;
  gracePeriodMs: number;
  stopping: Promise<void> | null;
  exited: boolean;
}

/**
 * The Runtime port in memory: no processes, no sockets, time from the
 * injected clock. Controller tests drive it with rules set before a deploy
 * ("v2 never becomes healthy", "v2 fails to start", "v3 hard-codes port
 * 8080") and with events during one (`crash`, `setHealth`). It passes the
 * same contract suite as the process, Docker and Swarm runtimes
 * (test/runtime/runtime-contract.ts), so what a test proves over it holds
 * for them.
 */
export class FakeRuntime implements Runtime {
  readonly kind = 'fake';
  /** Versions whose start throws INSTANCE_START_FAILED (a missing binary or image). */
  readonly failingVersions = new Set<string>();
  /** Versions that start but whose probe never passes (like the sample app's `unhealthy`). */
  readonly unhealthyVersions = new Set<string>();
  /** Versions that start, then exit with code 1 at once (like the sample app's `crash`). */
  readonly crashingVersions = new Set<string>();
  /** Version → port the app binds whatever $PORT says; taken, it exits with EADDRINUSE in its log. */
  readonly fixedPorts = new Map<string, number>();
  /** Every spec passed to `start`, in order (a failed start included). */
  readonly startedSpecs: InstanceSpec[] = [];

  private readonly clock: Clock;
  private readonly host: string;
  private readonly readyAfterMs: number;
  private readonly exitAfterStopMs: number;
  private readonly defaultGracePeriodMs: number;
  private readonly instances = new Map<string, FakeInstance>();
  /** Alive on the machine but not managed: survivors of an earlier controller until adopted. */
  private readonly unmanaged = new Map<string, FakeSurvivor>();
  /** Logs outlive their instances, so `tailLog` can explain an exit after the fact. */
  private readonly logs = new Map<string, string[]>();
  /** Ports held by another program (`occupyPort`). */
  private readonly occupied = new Set<number>();
  private readonly exits = new ExitListeners(undefined);
  private nextPort: number;
  private nextPid = 10_000;
  private closed = false;
  private detached = false;

  constructor(options: FakeRuntimeOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.host = options.host ?? '127.0.0.1';
    this.readyAfterMs = options.readyAfterMs ?? 0;
    this.exitAfterStopMs = options.exitAfterStopMs ?? 0;
    this.defaultGracePeriodMs = options.defaultStopGracePeriodMs ?? 10_000;
    this.nextPort = options.firstPort ?? 41_000;
    for (const survivor of options.alive ?? []) {
      this.unmanaged.set(survivor.id, { ...survivor, log: [...survivor.log] });
      this.logs.set(survivor.id, [...survivor.log]);
      // A new runtime must not hand out a port a survivor still holds, nor reuse its pid.
      this.nextPort = Math.max(this.nextPort, survivor.port + 1);
      this.nextPid = Math.max(this.nextPid, (survivor.pid ?? 0) + 1);
    }
  }

  start(spec: InstanceSpec): Promise<InstanceInfo> {
    this.startedSpecs.push({ ...spec, env: { ...spec.env } });
    const id = `${spec.service}/${spec.releaseId}/${spec.slot}-${spec.index}`;
    if (this.closed)
      return Promise.reject(
        new CutoverError('INSTANCE_START_FAILED', `Cannot start ${id}: the fake runtime is shut down.`),
      );
    const running = this.instances.get(id);
    if (running) {
      return Promise.reject(
        new CutoverError(
          'INSTANCE_START_FAILED',
          `Cannot start ${id}: it is already running (pid ${running.info.pid}).`,
          {
            hint: 'Stop the running instance first.',
          },
        ),
      );
    }
    const port = this.allocatePort();
    const log: string[] = [];
    this.logs.set(id, log);
    log.push(
      `--- cutover ${new Date(this.clock.now()).toISOString()}: starting ${id} (version ${spec.version}) on ${this.host}:${port}`,
    );
    if (this.failingVersions.has(spec.version)) {
      const why = `version ${spec.version} cannot be started (FakeRuntime.failingVersions)`;
      log.push(`--- cutover: cannot start ${id}: ${why}`);
      return Promise.reject(new CutoverError('INSTANCE_START_FAILED', `Cannot start ${id}: ${why}`));
    }
    const pid = this.nextPid++;
    const info: InstanceInfo = {
      id,
      service: spec.service,
      releaseId: spec.releaseId,
      version: spec.version,
      slot: spec.slot,
      index: spec.index,
      host: this.host,
      port,
      pid,
      pidToken: `fake-${pid}`,
      logPath: `fake://${id}`,
      startedAt: this.clock.now(),
    };
    const instance: FakeInstance = {
      info,
      listening: port,
      health: null,
      gracePeriodMs: spec.stopGracePeriodMs,
      stopping: null,
      exited: false,
    };
    this.instances.set(id, instance);

    const fixed = this.fixedPorts.get(spec.version);
    if (fixed !== undefined && this.portHeld(fixed, instance)) {
      // Like a real app with a hard-coded port: it starts, fails to bind, and exits; the supervisor reads why in its log.
      instance.listening = null;
      log.push(`Error: listen EADDRINUSE: address already in use ${this.host}:${fixed}`);
      this.exitSoon(instance, 1);
    } else if (this.crashingVersions.has(spec.version)) {
      instance.listening = null;
      log.push(`fake-app ${spec.version}: simulated crash at start`);
      this.exitSoon(instance, 1);
    } else {
      if (fixed !== undefined) instance.listening = fixed;
      log.push(`fake-app ${spec.version} instance ${spec.index} listening on ${this.host}:${instance.listening}`);
    }
    return Promise.resolve({ ...info });
  }

  stop(instanceId: string, gracePeriodMs?: number): Promise<void> {
    const instance = this.instances.get(instanceId);
    if (!instance) return Promise.resolve();
    instance.stopping ??= this.terminate(instance, gracePeriodMs ?? instance.gracePeriodMs);
    return instance.stopping;
  }

  list(): InstanceInfo[] {
    return [...this.instances.values()].map((instance) => ({ ...instance.info }));
  }

  adopt(records: InstanceInfo[]): Promise<InstanceInfo[]> {
    const adopted: InstanceInfo[] = [];
    for (const record of records) {
      const survivor = this.unmanaged.get(record.id);
      // The pid token proves the process is the one recorded, not a stranger that got its pid.
      if (
        !survivor ||
        this.instances.has(record.id) ||
        record.pidToken === null ||
        record.pidToken !== survivor.pidToken
      )
        continue;
      this.unmanaged.delete(record.id);
      const info = infoOf(survivor);
      this.instances.set(info.id, {
        info,
        listening: info.port,
        health: survivor.health,
        gracePeriodMs: this.defaultGracePeriodMs,
        stopping: null,
        exited: false,
      });
      adopted.push({ ...info });
    }
    return Promise.resolve(adopted);
  }

  onExit(listener: RuntimeListener): void {
    this.exits.add(listener);
  }

  tailLog(instanceId: string, lines: number): Promise<string> {
    const log = this.logs.get(instanceId) ?? [];
    return Promise.resolve(lines > 0 ? log.slice(-lines).join('\n') : '');
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.instances.keys()].map((id) => this.stop(id)));
  }

  /** The instances run on (see `survivors`); this runtime stops watching them and reports no exit. */
  async detach(): Promise<void> {
    this.closed = true;
    this.detached = true;
  }

  // --- what a test drives -----------------------------------------------------

  /**
   * What a health check sees: the app answers on its port (`ok`) once ready,
   * unless its version is unhealthy or a test turned it unhealthy. A
   * controller's probe calls this instead of HTTP.
   */
  probe(instanceId: string): Promise<{ ok: boolean; detail: string; answered?: boolean }> {
    const instance = this.instances.get(instanceId);
    if (!instance) return Promise.resolve({ ok: false, detail: `${instanceId} is not running` });
    const address = `${instance.info.host}:${instance.info.port}`;
    // Nothing listens: not an answer of the app (as the real checks say of a refused connection).
    if (instance.listening !== instance.info.port)
      return Promise.resolve({ ok: false, detail: `connect ECONNREFUSED ${address}`, answered: false });
    if (this.clock.now() - instance.info.startedAt < this.readyAfterMs) {
      return Promise.resolve({
        ok: false,
        detail: `connect ECONNREFUSED ${address} (still starting)`,
        answered: false,
      });
    }
    const health = instance.health ?? (this.unhealthyVersions.has(instance.info.version) ? 'unhealthy' : 'healthy');
    return Promise.resolve(
      health === 'healthy'
        ? { ok: true, detail: `${address} answered 200` }
        : { ok: false, detail: `${address} answered 500` },
    );
  }

  /** Turns instances healthy or unhealthy from now on, overriding their version's rule. Returns how many it touched. */
  setHealth(target: string | ((instance: InstanceInfo) => boolean), health: FakeHealth): number {
    let touched = 0;
    for (const instance of this.instances.values()) {
      if (typeof target === 'string' ? instance.info.id !== target : !target({ ...instance.info })) continue;
      instance.health = health;
      touched++;
    }
    return touched;
  }

  /** The instance dies on its own: onExit fires with `expected: false`. Unknown ids are a test bug and throw. */
  crash(instanceId: string, code = 1): void {
    const instance = this.instances.get(instanceId);
    if (!instance) throw new Error(`FakeRuntime.crash: ${instanceId} is not running`);
    this.logs.get(instanceId)?.push(`fake-app ${instance.info.version}: exited with code ${code}`);
    this.finish(instance, code, null, false);
  }

  /** A line the instance writes to its output, for `tailLog`. */
  write(instanceId: string, line: string): void {
    const log = this.logs.get(instanceId);
    if (!log) throw new Error(`FakeRuntime.write: ${instanceId} has no log`);
    log.push(line);
  }

  /** Another program takes the port (a port conflict for a version that hard-codes it). */
  occupyPort(port: number): void {
    this.occupied.add(port);
  }

  releasePort(port: number): void {
    this.occupied.delete(port);
  }

  /**
   * The instances alive right now, with their logs and health: pass them as
   * `alive` to a new FakeRuntime to simulate a controller restart. This one
   * should then be dropped without `close()`, as a crashed controller is.
   * Instances being stopped are left out: a stop signal already reached them.
   */
  survivors(): FakeSurvivor[] {
    const managed = [...this.instances.values()]
      .filter((instance) => instance.stopping === null)
      .map((instance) => ({
        ...instance.info,
        log: [...(this.logs.get(instance.info.id) ?? [])],
        health: instance.health,
      }));
    // Survivors never adopted are still running too (orphans a real runtime would also leave behind).
    const orphans = [...this.unmanaged.values()].map((survivor) => ({ ...survivor, log: [...survivor.log] }));
    return [...managed, ...orphans];
  }

  // --- internals --------------------------------------------------------------

  private allocatePort(): number {
    while (this.portHeld(this.nextPort)) this.nextPort++;
    return this.nextPort++;
  }

  private portHeld(port: number, except?: FakeInstance): boolean {
    if (this.occupied.has(port)) return true;
    for (const instance of this.instances.values()) {
      if (instance !== except && (instance.listening === port || instance.info.port === port)) return true;
    }
    for (const survivor of this.unmanaged.values()) if (survivor.port === port) return true;
    return false;
  }

  /** After `start` resolves, as a real process exits after it was spawned: on the clock, never inside `start`. */
  private exitSoon(instance: FakeInstance, code: number): void {
    this.clock.schedule(() => this.finish(instance, code, null, false), 0);
  }

  private async terminate(instance: FakeInstance, gracePeriodMs: number): Promise<void> {
    this.logs.get(instance.info.id)?.push(`fake-app ${instance.info.version}: SIGTERM received`);
    if (this.exitAfterStopMs > 0) await this.clock.sleep(Math.min(this.exitAfterStopMs, gracePeriodMs));
    const killed = this.exitAfterStopMs > gracePeriodMs;
    this.finish(instance, killed ? null : 0, killed ? 'SIGKILL' : null, true);
  }

  private finish(instance: FakeInstance, code: number | null, signal: string | null, expected: boolean): void {
    if (instance.exited) return;
    instance.exited = true;
    instance.listening = null;
    if (this.instances.get(instance.info.id) === instance) this.instances.delete(instance.info.id);
    const exit: InstanceExit = {
      instance: { ...instance.info },
      code,
      signal,
      expected: expected || instance.stopping !== null,
    };
    if (!this.detached) this.exits.notify(exit);
  }
}

function infoOf(record: InstanceInfo): InstanceInfo {
  const { id, service, releaseId, version, slot, index, host, port, pid, pidToken, logPath, startedAt } = record;
  return { id, service, releaseId, version, slot, index, host, port, pid, pidToken, logPath, startedAt };
}
