import { setTimeout as sleep } from 'node:timers/promises';
import type Docker from 'dockerode';
import type { ServiceConfig } from '../../config/types.js';
import { CutoverError } from '../../core/errors.js';
import type { InstanceInfo, InstanceSpec, NativeRollingUpdates, Runtime } from '../index.js';
import { ManagedInstances } from '../managed-instances.js';
import {
  containerHealthOf,
  exitStatusOf,
  waitForContainerExit,
  type ContainerHealth,
} from '../docker/container-state.js';
import { copyContainerLogs, copyLogStream } from '../docker/container-logs.js';
import { ImageProvider } from '../docker/image-policy.js';
import { instanceLogPath, tailInstanceLog } from '../process/log-files.js';
import { instanceIdOf, type RuntimeLogger } from '../process/process-runtime.js';
import { swarmServiceName } from './swarm-service-spec.js';
import { followTaskLogs, portOf, waitForTaskEnd, type SwarmTask } from './swarm-tasks.js';
import { SwarmAdoption } from './swarm-adoption.js';
import { SwarmNodes } from './swarm-nodes.js';
import { SwarmNativeUpdates } from './swarm-native-updates.js';
import type { ManagedTask, SwarmRelease } from './swarm-release.js';
import { SwarmReleaseUpdater } from './swarm-release-updater.js';
import { STOP_EXTRA_WAIT_MS, SwarmServices } from './swarm-services.js';

export interface SwarmRuntimeOptions {
  docker: Docker;
  /** The daemon's address (a Swarm manager), for error messages. */
  daemonHost: string;
  /** Identifies this state directory (label cutover.owner, part of service names), as with runtime: docker. */
  owner: string;
  /** A service's config: its docker and swarm settings and its instance count. */
  serviceFor(service: string): ServiceConfig | undefined;
  logDir: string;
  /**
   * Where the tasks on the manager cutover runs on listen (host network), and
   * of a node Swarm has no address for. Loopback by default. The tasks of
   * other nodes listen on their node's address (see swarm-nodes.ts).
   */
  host?: string;
  /** `server.swarm.node_addresses`: the address of a node's tasks, by node ID or hostname. */
  nodeAddresses?: Readonly<Record<string, string>>;
  logger?: RuntimeLogger;
  defaultStopGracePeriodMs?: number;
}

const LOG_FLUSH_MS = 2_000;

/**
 * Instances as the tasks of Docker Swarm services: one service per release
 * (`cutover-<owner>-<release>-<slot>`), replicas = the release's instances,
 * task slot N = instance N-1 on port base+N-1 of the host network. Swarm
 * schedules, places (constraints), restarts crashed tasks (the supervisor's
 * restart then waits for the new task of that slot), and runs native rolling
 * updates (swarm-release-updater.ts); cutover's proxy balances over the task ports.
 *
 * Images come from the daemon only: the Engine API never asks a registry on
 * service create/update (`--no-resolve-image` is the docker CLI's own digest
 * lookup, which dockerode never does), and a daemon started with
 * DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 uses a local image without pulling.
 * pid is always null: a task may run on another node of the swarm.
 */
export class SwarmRuntime extends ManagedInstances<ManagedTask> implements Runtime {
  readonly kind = 'swarm';
  private readonly docker: Docker;
  private readonly options: SwarmRuntimeOptions;
  private readonly nodes: SwarmNodes;
  private readonly releases = new Map<string, SwarmRelease>();
  private readonly logPaths = new Map<string, string>();
  /**
   * Task containers seen to exit. Swarm lists a dead task as running
   * until its agent catches up, so a start right after a crash (the
   * supervisor's restart) must not take the dead task for the new one.
   */
  private readonly exitedContainers = new Set<string>();
  private readonly services: SwarmServices;
  private readonly updater: SwarmReleaseUpdater;
  private readonly adoption: SwarmAdoption;
  private nativeUpdates: SwarmNativeUpdates | null = null;

  constructor(options: SwarmRuntimeOptions) {
    super(options.logger);
    this.options = options;
    this.docker = options.docker;
    const host = options.host ?? '127.0.0.1';
    const local = options.daemonHost.startsWith('unix://') || options.daemonHost.startsWith('/');
    this.nodes = new SwarmNodes(options.docker, {
      overrides: options.nodeAddresses ?? {},
      fallback: host,
      selfAddress: local ? host : null,
    });
    const images = new ImageProvider(options.docker, options.daemonHost);
    // The service lifecycle, native updates and adoption each get the part of the runtime's state they use.
    const { docker, daemonHost, owner, logger } = options;
    const { nodes, releases, instances, logPaths, exits } = this;
    const manage = this.manage.bind(this);
    this.services = new SwarmServices({
      docker,
      daemonHost,
      owner,
      host,
      ...(logger ? { logger } : {}),
      nodes,
      images,
      releases,
      isClosed: () => this.closed,
      isTaken: (containerId) => this.holds(containerId) || this.exitedContainers.has(containerId ?? ''),
    });
    this.updater = new SwarmReleaseUpdater({
      docker,
      daemonHost,
      owner,
      host,
      serviceFor: (service) => options.serviceFor(service),
      nodes,
      images,
      imageCommand: (image, id) => this.services.imageCommand(image, id),
      releases,
      instances,
      manage,
      exits,
    });
    this.adoption = new SwarmAdoption({
      docker,
      daemonHost,
      owner,
      ...(logger ? { logger } : {}),
      nodes,
      releases,
      releaseOf: (instance) => this.releaseOf(instance),
      instances,
      logPaths,
      manage,
      rollbackUpdate: (releaseId) => this.updater.rollbackUpdate(releaseId),
    });
  }

  async start(spec: InstanceSpec): Promise<InstanceInfo> {
    const id = instanceIdOf(spec);
    if (this.closed)
      throw new CutoverError('INSTANCE_START_FAILED', `Cannot start ${id}: the swarm runtime is shutting down.`);
    const running = this.instances.get(id);
    if (running && !running.replaced) {
      throw new CutoverError(
        'INSTANCE_START_FAILED',
        `Cannot start ${id}: it is already running (task ${running.taskId.slice(0, 12)}).`,
        { hint: 'Stop the running instance first.' },
      );
    }
    const config = this.options.serviceFor(spec.service);
    if (!config?.docker || !config.swarm)
      throw new CutoverError('INTERNAL', `Cannot start ${id}: service ${spec.service} has no swarm settings.`);
    const since = Date.now();
    // Registered before the first await: instances started together make one service with all their replicas.
    const release = this.releaseOf(spec);
    release.wanted.add(spec.index);
    await this.serialize(release, () => this.services.ensureService(release, spec, config, id));
    const task = await this.services.waitForTask(release, spec.index, id, since);
    const { host, node } = await this.nodes.placementOf(task.nodeId);
    const logPath = instanceLogPath(this.options.logDir, spec);
    this.logPaths.set(id, logPath);
    const info: InstanceInfo = {
      id,
      service: spec.service,
      releaseId: spec.releaseId,
      version: spec.version,
      slot: spec.slot,
      index: spec.index,
      host,
      port: portOf(task) ?? release.portBase + spec.index,
      pid: null,
      // The task's container: what proves, after a restart, that a record names this task.
      pidToken: task.containerId,
      logPath,
      startedAt: Date.now(),
      ...(node ? { node } : {}),
    };
    const header = `--- cutover ${new Date().toISOString()}: ${id} (version ${spec.version}) is task ${task.id.slice(0, 12)} (slot ${task.slot}) of swarm service ${release.name} on ${host}:${info.port} (node ${task.nodeId?.slice(0, 12) ?? '?'})`;
    await this.manage(info, release, task, header, 0);
    this.options.logger?.info(
      { instance: id, task: task.id.slice(0, 12), service: release.name, host, port: info.port },
      'instance started',
    );
    return { ...info };
  }

  /** After a controller restart: the services of this state directory taken back (see swarm-adoption.ts). */
  adopt(records: InstanceInfo[]): Promise<InstanceInfo[]> {
    return this.adoption.adopt(records);
  }

  /** Swarm kills a task its HEALTHCHECK finds unhealthy and starts another in its slot. */
  replacesUnhealthyInstances(): boolean {
    return true;
  }

  tailLog(instanceId: string, lines: number): Promise<string> {
    return tailInstanceLog(this.options.logDir, this.logPaths.get(instanceId), instanceId, lines);
  }

  protected letGo(managed: ManagedTask): void {
    // The services run on under Swarm; `exited` ends the wait for the task's container, the log copy stops.
    managed.exited = true;
    managed.logs?.stop();
  }

  protected gracePeriodOf(): number {
    return this.options.defaultStopGracePeriodMs ?? 10_000;
  }

  /** The task container's own HEALTHCHECK status, or null without one (or for an unknown instance). */
  async containerHealth(instanceId: string): Promise<ContainerHealth> {
    const managed = this.instances.get(instanceId);
    if (!managed) return null;
    return containerHealthOf(managed.container);
  }

  // --- native rolling update (see swarm-native-updates.ts) --------------------

  /** Every service on this runtime updates through Swarm's own rolling update. */
  nativeRollingUpdates(): NativeRollingUpdates {
    this.nativeUpdates ??= new SwarmNativeUpdates(this.updater);
    return this.nativeUpdates;
  }

  // --- internals --------------------------------------------------------------

  private releaseOf(instance: { service: string; releaseId: string; slot: string }): SwarmRelease {
    let release = this.releases.get(instance.releaseId);
    if (!release) {
      release = {
        service: instance.service,
        releaseId: instance.releaseId,
        swarmId: null,
        name: swarmServiceName(this.options.owner, instance),
        portBase: 0,
        replicas: 0,
        wanted: new Set(),
        queue: Promise.resolve(),
        updating: false,
        removing: null,
      };
      this.releases.set(instance.releaseId, release);
    }
    return release;
  }

  private serialize<T>(release: SwarmRelease, work: () => Promise<T>): Promise<T> {
    const next = release.queue.then(work, work);
    release.queue = next.catch(() => {});
    return next;
  }

  private holds(containerId: string | null): boolean {
    for (const managed of this.instances.values())
      if (!managed.replaced && managed.container.id === containerId) return true;
    return false;
  }

  private async manage(
    info: InstanceInfo,
    release: SwarmRelease,
    task: SwarmTask,
    header: string | null,
    since: number,
  ): Promise<void> {
    const container = this.docker.getContainer(task.containerId as string);
    // The manager's container API sees its own node's containers only; a task elsewhere is followed through Swarm.
    const local = task.nodeId === null || task.nodeId === (await this.nodes.selfNodeId());
    const logs = await (
      local
        ? copyContainerLogs(this.docker, container, info.logPath, header, since)
        : copyLogStream(this.docker, () => followTaskLogs(this.docker, task.id, since), info.logPath, header)
    ).catch((error: unknown) => {
      this.options.logger?.warn({ instance: info.id, err: error }, 'cannot follow the task output');
      return null;
    });
    const managed: ManagedTask = {
      info: { ...info },
      release,
      taskId: task.id,
      container,
      logs,
      stopRequested: false,
      stopping: null,
      exited: false,
      replaced: false,
      exitHandled: Promise.resolve(),
    };
    this.instances.set(info.id, managed);
    const ended = local
      ? waitForContainerExit(container, () => managed.exited)
      : waitForTaskEnd(
          this.docker,
          task.id,
          async (nodeId) => (await this.nodes.get(nodeId))?.state === 'down',
          () => managed.exited,
        );
    managed.exitHandled = ended.then(async (code) => {
      if (!managed.exited) this.exitedContainers.add(container.id);
      await logs?.finished(LOG_FLUSH_MS);
      this.handleExit(managed, code);
    });
  }

  /**
   * Every instance of the release stopped: the service is removed (Swarm
   * stops its tasks with the StopGracePeriod). The highest instance alone:
   * the service is scaled down by one. Any other single instance (a rolling
   * batch in the middle: cutover's own rolling runner never runs on swarm,
   * which updates natively) is released: it leaves the rotation and its
   * task runs on until the release is stopped or scaled down.
   */
  protected async terminate(managed: ManagedTask, gracePeriodMs: number): Promise<void> {
    managed.stopRequested = true;
    const { release } = managed;
    const live = [...this.instances.values()].filter((m) => m.release === release && !m.stopRequested);
    if (managed.exited) return;
    if (live.length === 0) {
      await this.services.removeService(release, gracePeriodMs);
    } else if (managed.info.index + 1 === release.replicas && live.every((m) => m.info.index < managed.info.index)) {
      release.wanted.delete(managed.info.index);
      await this.serialize(release, () => this.services.scale(release, managed.info.index, managed.info.id)).catch(
        (error: unknown) => {
          this.options.logger?.warn({ instance: managed.info.id, err: error }, 'scaling the swarm service down failed');
        },
      );
    } else {
      this.options.logger?.info(
        { instance: managed.info.id },
        'instance released: its task keeps running until the release stops (Swarm cannot stop one task of a replicated service)',
      );
      this.handleExit(managed, null);
      return;
    }
    const bound = sleep(gracePeriodMs + STOP_EXTRA_WAIT_MS, 'timeout' as const, { ref: false });
    if ((await Promise.race([managed.exitHandled.then(() => 'exited' as const), bound])) === 'timeout') {
      this.options.logger?.warn({ instance: managed.info.id }, 'the task did not report its exit; giving up waiting');
      this.handleExit(managed, null);
    }
  }

  private handleExit(managed: ManagedTask, statusCode: number | null): void {
    if (managed.exited) return;
    if (managed.release.updating && !managed.stopRequested) {
      // Swarm is replacing it (a native update): not a crash; finishUpdate says what became of it.
      managed.replaced = true;
      return;
    }
    managed.exited = true;
    managed.logs?.stop();
    if (this.instances.get(managed.info.id) === managed) this.instances.delete(managed.info.id);
    const expected = managed.stopRequested;
    const { code, signal } = exitStatusOf(statusCode);
    const fields = { instance: managed.info.id, task: managed.taskId.slice(0, 12), code: statusCode, expected };
    if (expected) this.options.logger?.info(fields, 'instance stopped');
    else this.options.logger?.warn(fields, 'instance exited unexpectedly; Swarm restarts its task');
    this.exits.notify({ instance: { ...managed.info }, code, signal, expected });
  }
}
