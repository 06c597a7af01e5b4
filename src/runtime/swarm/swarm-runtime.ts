import { setTimeout as sleep } from 'node:timers/promises';
import type Docker from 'dockerode';
import type { ServiceConfig } from '../../config/types.js';
import { CutoverError } from '../../core/errors.js';
import { ExitListeners } from '../exit-listeners.js';
import type { InstanceInfo, InstanceSpec, NativeRollingUpdates, Runtime, RuntimeListener } from '../index.js';
import {
  containerHealthOf,
  exitStatusOf,
  waitForContainerExit,
  type ContainerHealth,
} from '../docker/container-state.js';
import { copyContainerLogs, copyLogStream, logSince, type LogCopy } from '../docker/container-logs.js';
import { dockerMessage, dockerStatus, startFailure } from '../docker/docker-client.js';
import { ImageProvider } from '../docker/image-policy.js';
import { instanceLogPath, tailInstanceLog } from '../process/log-files.js';
import { instanceIdOf, type RuntimeLogger } from '../process/process-runtime.js';
import { findFreePortRange } from './port-range.js';
import {
  imageOf,
  planSwarmService,
  SWARM_LABELS,
  swarmServiceName,
  type SwarmReleaseSpec,
} from './swarm-service-spec.js';
import {
  hasFailed,
  isServing,
  listSwarmTasks,
  followTaskLogs,
  lastTaskLogs,
  portOf,
  waitForTaskEnd,
  type SwarmTask,
  type SwarmUpdateProgress,
} from './swarm-tasks.js';
import { SwarmNodes } from './swarm-nodes.js';
import { SwarmNativeUpdates } from './swarm-native-updates.js';

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

/** One release = one Swarm service. */
interface SwarmRelease {
  service: string;
  releaseId: string;
  swarmId: string | null;
  name: string;
  portBase: number;
  replicas: number;
  /** Instance indexes asked for so far: the service gets max + 1 replicas. */
  wanted: Set<number>;
  /** Creation and scaling of one service happen one at a time. */
  queue: Promise<unknown>;
  /** A native update runs: Swarm replaces the tasks itself, their exits are not crashes. */
  updating: boolean;
  removing: Promise<void> | null;
}

interface ManagedTask {
  info: InstanceInfo;
  release: SwarmRelease;
  taskId: string;
  container: Docker.Container;
  logs: LogCopy | null;
  stopRequested: boolean;
  stopping: Promise<void> | null;
  exited: boolean;
  /** Its task was replaced during a native update; what replaces it is known once the update ends. */
  replaced: boolean;
  exitHandled: Promise<void>;
}

const POLL_MS = 200;
/** A task of a new service may need its image unpacked and its HEALTHCHECK passed before Swarm calls it running. */
const TASK_START_TIMEOUT_MS = 120_000;
/** Failed tasks of one slot, in a row, after which a start is given up (Swarm retries every second). */
const FAILED_TASKS_BEFORE_GIVING_UP = 3;
const STOP_EXTRA_WAIT_MS = 15_000;
const LOG_FLUSH_MS = 2_000;
/**
 * Ports are checked free on every address of this machine: tasks of
 * several nodes may share it (the tests' loopback swarm), and on the
 * manager a task may bind any of them. Ports of other machines cannot be
 * checked from here; a task that finds its port taken fails its health
 * check and no traffic moves to it.
 */
const PORT_PROBE_HOST = '0.0.0.0';

/**
 * Instances as the tasks of Docker Swarm services: one service per release
 * (`cutover-<owner>-<release>-<slot>`), replicas = the release's instances,
 * task slot N = instance N-1 on port base+N-1 of the host network. Swarm
 * schedules, places (constraints), restarts crashed tasks (the supervisor's
 * restart then waits for the new task of that slot), and runs native rolling
 * updates (updateRelease); cutover's proxy balances over the task ports.
 *
 * Images come from the daemon only: the Engine API never asks a registry on
 * service create/update (`--no-resolve-image` is the docker CLI's own digest
 * lookup, which dockerode never does), and a daemon started with
 * DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 uses a local image without pulling.
 * pid is always null: a task may run on another node of the swarm.
 */
export class SwarmRuntime implements Runtime {
  readonly kind = 'swarm';
  private readonly docker: Docker;
  private readonly options: SwarmRuntimeOptions;
  private readonly host: string;
  private readonly nodes: SwarmNodes;
  private readonly images: ImageProvider;
  private readonly releases = new Map<string, SwarmRelease>();
  private readonly instances = new Map<string, ManagedTask>();
  private readonly logPaths = new Map<string, string>();
  /**
   * Task containers seen to exit. Swarm lists a dead task as running
   * until its agent catches up, so a start right after a crash (the
   * supervisor's restart) must not take the dead task for the new one.
   */
  private readonly exitedContainers = new Set<string>();
  private readonly exits: ExitListeners;
  private closed = false;
  private nativeUpdates: SwarmNativeUpdates | null = null;

  constructor(options: SwarmRuntimeOptions) {
    this.options = options;
    this.docker = options.docker;
    this.host = options.host ?? '127.0.0.1';
    const local = options.daemonHost.startsWith('unix://') || options.daemonHost.startsWith('/');
    this.nodes = new SwarmNodes(options.docker, {
      overrides: options.nodeAddresses ?? {},
      fallback: this.host,
      selfAddress: local ? this.host : null,
    });
    this.images = new ImageProvider(options.docker, options.daemonHost);
    this.exits = new ExitListeners(options.logger);
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
    await this.serialize(release, () => this.ensureService(release, spec, config, id));
    const task = await this.waitForTask(release, spec.index, id, since);
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

  stop(instanceId: string, gracePeriodMs?: number): Promise<void> {
    const managed = this.instances.get(instanceId);
    if (!managed) return Promise.resolve();
    managed.stopping ??= this.terminate(managed, gracePeriodMs ?? this.options.defaultStopGracePeriodMs ?? 10_000);
    return managed.stopping;
  }

  list(): InstanceInfo[] {
    return [...this.instances.values()].map((managed) => ({ ...managed.info }));
  }

  /**
   * After a controller restart: the services of this state directory (label
   * cutover.owner) are found by their release label, and each recorded
   * instance whose slot has a running task is taken back, on that task's
   * port (Swarm may have replaced the task meanwhile). A service no record
   * names (the controller died between creating it and recording an instance)
   * serves nobody and is removed.
   */
  async adopt(records: InstanceInfo[]): Promise<InstanceInfo[]> {
    let services: Docker.Service[];
    try {
      services = await this.docker.listServices({
        filters: { label: [`${SWARM_LABELS.owner}=${this.options.owner}`] },
      });
    } catch (error) {
      this.options.logger?.warn(
        { err: error, daemon: this.options.daemonHost },
        `cannot list swarm services, none adopted: ${dockerMessage(error)}`,
      );
      return [];
    }
    const adopted: InstanceInfo[] = [];
    for (const service of services) {
      const labels = service.Spec?.Labels ?? {};
      const releaseId = labels[SWARM_LABELS.release] ?? '';
      const mine = records.filter(
        (record) => record.releaseId === releaseId && record.service === labels[SWARM_LABELS.service],
      );
      if (mine.length === 0 && (await this.rollBackInterrupted(service, records))) continue;
      if (mine.length === 0) {
        if (![...this.releases.values()].some((r) => r.swarmId === service.ID)) {
          this.options.logger?.info(
            { service: service.Spec?.Name, release: releaseId },
            'removing a swarm service of this state directory that no record names',
          );
          await this.docker
            .getService(service.ID)
            .remove()
            .catch(() => {});
        }
        continue;
      }
      const first = mine[0] as InstanceInfo;
      const release = this.releaseOf(first);
      release.swarmId = service.ID;
      release.name = service.Spec?.Name ?? release.name;
      release.portBase = Number(labels[SWARM_LABELS.portBase] ?? 0);
      release.replicas = service.Spec?.Mode?.Replicated?.Replicas ?? mine.length;
      const tasks = await listSwarmTasks(this.docker, service.ID).catch(() => [] as SwarmTask[]);
      for (const record of mine) {
        if (this.instances.has(record.id)) continue;
        const task = tasks.find((t) => t.slot === record.index + 1 && isServing(t) && t.releaseId === releaseId);
        if (!task) {
          this.options.logger?.info({ instance: record.id }, 'instance not adopted: its task slot has no running task');
          continue;
        }
        release.wanted.add(record.index);
        const info: InstanceInfo = {
          ...record,
          pid: null,
          ...(await this.nodes.placementOf(task.nodeId)),
          port: portOf(task) ?? record.port,
          pidToken: task.containerId,
        };
        this.logPaths.set(info.id, info.logPath);
        await this.manage(info, release, task, null, logSince(info.logPath));
        this.options.logger?.info(
          { instance: info.id, task: task.id.slice(0, 12), port: info.port },
          'instance adopted',
        );
        adopted.push({ ...info });
      }
    }
    return adopted;
  }

  /**
   * A native update the controller did not see to its end (killed during
   * it): the service's previous spec runs the recorded release. The deploy is
   * over (recovery aborts it), so Swarm rolls the service back to that
   * release; its instances are started again through start(), which waits
   * for the rolled-back tasks. Returns false when the service is no such case.
   */
  private async rollBackInterrupted(service: Docker.Service, records: InstanceInfo[]): Promise<boolean> {
    const previous = service.PreviousSpec?.Labels ?? {};
    const recorded = records.find(
      (record) =>
        record.releaseId === previous[SWARM_LABELS.release] && record.service === previous[SWARM_LABELS.service],
    );
    if (!recorded) return false;
    const release = this.releaseOf(recorded);
    release.swarmId = service.ID;
    release.name = service.Spec?.Name ?? release.name;
    release.portBase = Number(previous[SWARM_LABELS.portBase] ?? 0);
    release.replicas = service.PreviousSpec?.Mode?.Replicated?.Replicas ?? 1;
    this.options.logger?.warn(
      { service: release.name, release: recorded.releaseId },
      'a swarm update was interrupted by a controller restart: rolling the service back',
    );
    await this.rollbackUpdate(recorded.releaseId).catch((error: unknown) => {
      this.options.logger?.warn(
        { service: release.name, err: error },
        `the rollback of the interrupted update failed: ${dockerMessage(error)}`,
      );
    });
    return true;
  }

  /** Swarm kills a task its HEALTHCHECK finds unhealthy and starts another in its slot. */
  replacesUnhealthyInstances(): boolean {
    return true;
  }

  onExit(listener: RuntimeListener): void {
    this.exits.add(listener);
  }

  tailLog(instanceId: string, lines: number): Promise<string> {
    return tailInstanceLog(this.options.logDir, this.logPaths.get(instanceId), instanceId, lines);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.instances.keys()].map((id) => this.stop(id)));
  }

  async detach(): Promise<void> {
    this.closed = true;
    for (const managed of this.instances.values()) {
      // The services run on under Swarm; `exited` ends the wait for the task's container, the log copy stops.
      managed.exited = true;
      managed.logs?.stop();
    }
    this.instances.clear();
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
    this.nativeUpdates ??= new SwarmNativeUpdates(this);
    return this.nativeUpdates;
  }

  /**
   * Starts Swarm's own rolling update of the service that runs `fromReleaseId`
   * to the release `to`: new image, labels and env, and a new port base, so a
   * start-first update never has two tasks on one port. Swarm replaces the
   * tasks by `update`; its tasks' exits meanwhile are Swarm's, not crashes.
   */
  async updateRelease(
    fromReleaseId: string,
    to: SwarmReleaseSpec,
    update: Docker.UpdateConfig,
  ): Promise<{ serviceName: string }> {
    const release = this.releases.get(fromReleaseId);
    const config = this.options.serviceFor(to.service);
    const what = `update ${fromReleaseId} to ${to.releaseId}`;
    if (!release?.swarmId || release.removing)
      throw new CutoverError('INSTANCE_START_FAILED', `Cannot ${what}: no swarm service runs ${fromReleaseId}.`, {
        hint: 'Deploy again: the first deploy of a release creates its service.',
      });
    if (!config?.docker || !config.swarm)
      throw new CutoverError('INTERNAL', `Cannot ${what}: service ${to.service} has no swarm settings.`);
    const image = imageOf(config.docker, to.version);
    await this.images.ensure(image, config.docker.pull, to.releaseId);
    const imageCommand = await this.imageCommand(image, to.releaseId);
    const avoid = new Set(Array.from({ length: release.replicas }, (_, i) => release.portBase + i));
    const portBase = await findFreePortRange(PORT_PROBE_HOST, release.replicas, avoid);
    const plan = planSwarmService({
      release: to,
      settings: config.docker,
      swarm: config.swarm,
      owner: this.options.owner,
      host: this.host,
      nodeAddresses: await this.nodeAddressTable(),
      portBase,
      replicas: release.replicas,
      imageCommand,
      update,
    });
    // A service keeps its name for life.
    plan.spec.Name = release.name;
    release.updating = true;
    try {
      const service = this.docker.getService(release.swarmId);
      const current = (await service.inspect()) as Docker.Service;
      await service.update({ _query: { version: current.Version?.Index }, _body: plan.spec });
    } catch (error) {
      release.updating = false;
      throw startFailure(to.releaseId, `updating swarm service ${release.name}`, error, this.options.daemonHost);
    }
    return { serviceName: release.name };
  }

  async updateProgress(releaseId: string): Promise<SwarmUpdateProgress> {
    const release = this.releases.get(releaseId);
    if (!release?.swarmId) return { state: null, message: null, tasks: [] };
    const service = (await this.docker.getService(release.swarmId).inspect()) as Docker.Service;
    const tasks = await listSwarmTasks(this.docker, release.swarmId);
    return { state: service.UpdateStatus?.State ?? null, message: service.UpdateStatus?.Message ?? null, tasks };
  }

  /** A task container's HEALTHCHECK verdict and its last output (why it fails), null without one or when gone. */
  async taskHealth(containerId: string): Promise<{ status: string; output: string } | null> {
    try {
      const health = (await this.docker.getContainer(containerId).inspect()).State.Health as
        { Status?: string; Log?: { Output?: string; ExitCode?: number }[] } | undefined;
      if (!health?.Status) return null;
      const last = health.Log?.[health.Log.length - 1];
      return { status: health.Status, output: (last?.Output ?? '').trim() || `exit code ${last?.ExitCode ?? '?'}` };
    } catch {
      return null;
    }
  }

  /** Asks Swarm to roll the update back (its RollbackConfig), as `docker service rollback` does. */
  async rollbackUpdate(releaseId: string): Promise<void> {
    const release = this.releases.get(releaseId);
    if (!release?.swarmId) return;
    const service = this.docker.getService(release.swarmId);
    const current = (await service.inspect()) as Docker.Service;
    await service.update({ _query: { version: current.Version?.Index, rollback: 'previous' }, _body: current.Spec });
  }

  /**
   * Ends a native update. `completed`: the service now runs `toReleaseId`
   * (start() of its instances finds the running tasks); the instances of the
   * old release are forgotten, their tasks are gone. `rolled-back`: the old
   * release's instances are bound to the tasks Swarm put back (same ports: the
   * previous spec had the old base); a slot without one is reported as exited.
   */
  async finishUpdate(fromReleaseId: string, outcome: 'completed' | 'rolled-back', toReleaseId: string): Promise<void> {
    const release = this.releases.get(fromReleaseId);
    if (!release) return;
    release.updating = false;
    const old = [...this.instances.values()].filter((m) => m.release === release);
    if (outcome === 'completed') {
      for (const managed of old) {
        managed.logs?.stop();
        managed.exited = true;
        this.instances.delete(managed.info.id);
      }
      this.releases.delete(fromReleaseId);
      release.releaseId = toReleaseId;
      release.wanted = new Set();
      if (release.swarmId) {
        const spec = ((await this.docker.getService(release.swarmId).inspect()) as Docker.Service).Spec;
        release.portBase = Number(spec?.Labels?.[SWARM_LABELS.portBase] ?? release.portBase);
      }
      this.releases.set(toReleaseId, release);
      return;
    }
    const tasks = release.swarmId
      ? await listSwarmTasks(this.docker, release.swarmId).catch(() => [] as SwarmTask[])
      : [];
    for (const managed of old) {
      const task = tasks.find(
        (t) => t.slot === managed.info.index + 1 && isServing(t) && t.releaseId === fromReleaseId,
      );
      if (task && task.containerId === managed.container.id && !managed.exited) continue;
      managed.logs?.stop();
      managed.exited = true;
      this.instances.delete(managed.info.id);
      if (task) {
        const info = {
          ...managed.info,
          ...(await this.nodes.placementOf(task.nodeId)),
          port: portOf(task) ?? managed.info.port,
          pidToken: task.containerId,
        };
        await this.manage(
          info,
          release,
          task,
          `--- cutover ${new Date().toISOString()}: swarm rolled back; ${info.id} is task ${task.id.slice(0, 12)}`,
          0,
        );
      } else {
        this.exits.notify({ instance: { ...managed.info }, code: null, signal: null, expected: false });
      }
    }
  }

  // --- internals --------------------------------------------------------------

  /** Node ID to the address its tasks listen on, for the wrapper's HOST (fetched fresh: a node may have joined). */
  private async nodeAddressTable(): Promise<Record<string, string>> {
    return Object.fromEntries((await this.nodes.all(true)).map((node) => [node.id, node.address]));
  }

  /** The address cutover dials a task at: its node's (see swarm-nodes.ts). */
  taskAddress(task: SwarmTask): Promise<string> {
    return this.nodes.addressOf(task.nodeId);
  }

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

  /** Creates the release's service on its first start, or scales it up to the instances asked for. */
  private async ensureService(
    release: SwarmRelease,
    spec: InstanceSpec,
    config: ServiceConfig,
    id: string,
  ): Promise<void> {
    if (release.removing)
      throw new CutoverError('INSTANCE_START_FAILED', `Cannot start ${id}: its release is being stopped.`);
    const replicas = Math.max(...release.wanted) + 1;
    if (release.swarmId !== null) {
      if (release.replicas < replicas) await this.scale(release, replicas, id);
      return;
    }
    const settings = config.docker!;
    const image = imageOf(settings, spec.version);
    await this.images.ensure(image, settings.pull, id);
    const imageCommand = await this.imageCommand(image, id);
    // Ports for every instance the release will have, so a later scale-up finds its ports checked too.
    const portBase = await findFreePortRange(PORT_PROBE_HOST, Math.max(replicas, config.instances));
    const plan = planSwarmService({
      release: spec,
      settings,
      swarm: config.swarm!,
      owner: this.options.owner,
      host: this.host,
      nodeAddresses: await this.nodeAddressTable(),
      portBase,
      replicas,
      imageCommand,
      update: null,
    });
    release.name = plan.name;
    for (let attempt = 0; ; attempt++) {
      try {
        const created = await this.docker.createService(plan.spec as Docker.CreateServiceOptions);
        release.swarmId = created.id;
        release.portBase = portBase;
        release.replicas = replicas;
        this.options.logger?.info(
          { service: plan.name, image: plan.image, replicas, portBase },
          'swarm service created',
        );
        return;
      } catch (error) {
        if (dockerStatus(error) === 409 && attempt === 0 && (await this.removeLeftover(plan.name))) continue;
        throw startFailure(id, `creating swarm service ${plan.name} of ${plan.image}`, error, this.options.daemonHost);
      }
    }
  }

  /** The image's Entrypoint + Cmd: what the wrapper execs when the config has no command. */
  private async imageCommand(image: string, id: string): Promise<string[]> {
    try {
      const config = (await this.docker.getImage(image).inspect()).Config;
      return [...(config.Entrypoint ?? []), ...(config.Cmd ?? [])];
    } catch (error) {
      throw startFailure(id, `inspecting image ${image}`, error, this.options.daemonHost);
    }
  }

  private async scale(release: SwarmRelease, replicas: number, id: string): Promise<void> {
    if (!release.swarmId) return;
    try {
      const service = this.docker.getService(release.swarmId);
      const current = (await service.inspect()) as Docker.Service;
      const spec: Docker.ServiceSpec = { ...current.Spec, Mode: { Replicated: { Replicas: replicas } } };
      await service.update({ _query: { version: current.Version?.Index }, _body: spec });
      release.replicas = replicas;
    } catch (error) {
      throw startFailure(id, `scaling swarm service ${release.name} to ${replicas}`, error, this.options.daemonHost);
    }
  }

  /** A service of this state directory left by a crash mid-start, with the name we need: removed when nothing here manages it. */
  private async removeLeftover(name: string): Promise<boolean> {
    try {
      const existing = (await this.docker.getService(name).inspect()) as Docker.Service;
      if (
        existing.Spec?.Labels?.[SWARM_LABELS.owner] !== this.options.owner ||
        [...this.releases.values()].some((r) => r.swarmId === existing.ID)
      )
        return false;
      await this.docker.getService(existing.ID).remove();
      await this.waitTasksGone(existing.ID, 15_000);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * The running task of a slot that no instance holds yet. A task of this slot
   * that failed or was rejected after the start began fails the start with
   * Swarm's reason (it would only be retried in a loop); so does a task that
   * Swarm cannot place (pending with an error: no node fits the constraints).
   */
  private async waitForTask(release: SwarmRelease, index: number, id: string, since: number): Promise<SwarmTask> {
    const slot = index + 1;
    const deadline = Date.now() + TASK_START_TIMEOUT_MS;
    let last = 'no task yet';
    for (;;) {
      if (release.removing || this.closed || this.releases.get(release.releaseId) !== release) {
        throw new CutoverError(
          'INSTANCE_START_FAILED',
          `Cannot start ${id}: its release was stopped during the start.`,
        );
      }
      let tasks: SwarmTask[] = [];
      try {
        tasks = release.swarmId ? await listSwarmTasks(this.docker, release.swarmId) : [];
      } catch (error) {
        last = `listing tasks failed: ${dockerMessage(error)}`;
      }
      const ofSlot = tasks.filter((t) => t.slot === slot);
      const serving = ofSlot.find(
        (t) =>
          isServing(t) &&
          t.releaseId === release.releaseId &&
          !this.holds(t.containerId) &&
          !this.exitedContainers.has(t.containerId ?? ''),
      );
      if (serving) return serving;
      // Swarm replaces a failed task itself (restart condition any), and a
      // task can fail for the daemon's own passing reasons ("network sandbox
      // does not exist" under load). So a failed task is an answer only when
      // its replacements fail too; a task that cannot be placed is one at once.
      const recent = ofSlot.filter((t) => t.createdAt >= since - 1_000);
      const failures = recent.filter(hasFailed);
      const unplaceable = recent.find((t) => t.state === 'pending' && t.error);
      const failed = unplaceable ?? (failures.length >= FAILED_TASKS_BEFORE_GIVING_UP ? failures[0] : undefined);
      if (failed) {
        const tail = failed.containerId ? await this.taskTail(failed) : '';
        throw new CutoverError(
          'INSTANCE_START_FAILED',
          `Cannot start ${id}: task ${failed.id.slice(0, 12)} of swarm service ${release.name} is ${failed.state}: ${failed.error ?? 'no reason given'}` +
            (failed.exitCode ? ` (exit code ${failed.exitCode})` : '') +
            (tail ? `; last log lines:\n${tail}` : ''),
          {
            hint: 'Check image, command, placement and resources in the service config (`docker service ps --no-trunc` shows the same); traffic was not moved.',
          },
        );
      }
      if (ofSlot[0]) last = `task ${ofSlot[0].id.slice(0, 12)} is ${ofSlot[0].state}`;
      if (Date.now() > deadline) {
        throw new CutoverError(
          'INSTANCE_START_FAILED',
          `Cannot start ${id}: slot ${slot} of swarm service ${release.name} had no running task within ${TASK_START_TIMEOUT_MS / 1000} s (${last}).`,
        );
      }
      await sleep(POLL_MS);
    }
  }

  private holds(containerId: string | null): boolean {
    for (const managed of this.instances.values())
      if (!managed.replaced && managed.container.id === containerId) return true;
    return false;
  }

  /** A failed task's last lines: from its container on this node, else through Swarm from the node it ran on. */
  private async taskTail(task: SwarmTask): Promise<string> {
    try {
      const local = task.nodeId === null || task.nodeId === (await this.nodes.selfNodeId());
      const framed = local
        ? await this.docker
            .getContainer(task.containerId as string)
            .logs({ stdout: true, stderr: true, tail: 5, follow: false })
        : await lastTaskLogs(this.docker, task.id, 5);
      // Without a TTY the output comes in frames: an 8-byte header (stream, 0, 0, 0, length as uint32 BE), then the bytes.
      const parts: Buffer[] = [];
      for (let at = 0; at + 8 <= framed.length; at += 8 + framed.readUInt32BE(at + 4))
        parts.push(framed.subarray(at + 8, at + 8 + framed.readUInt32BE(at + 4)));
      return Buffer.concat(parts).toString('utf8').trim();
    } catch {
      return '';
    }
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
  private async terminate(managed: ManagedTask, gracePeriodMs: number): Promise<void> {
    managed.stopRequested = true;
    const { release } = managed;
    const live = [...this.instances.values()].filter((m) => m.release === release && !m.stopRequested);
    if (managed.exited) return;
    if (live.length === 0) {
      await this.removeService(release, gracePeriodMs);
    } else if (managed.info.index + 1 === release.replicas && live.every((m) => m.info.index < managed.info.index)) {
      release.wanted.delete(managed.info.index);
      await this.serialize(release, () => this.scale(release, managed.info.index, managed.info.id)).catch(
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

  private removeService(release: SwarmRelease, gracePeriodMs: number): Promise<void> {
    release.removing ??= (async () => {
      if (this.releases.get(release.releaseId) === release) this.releases.delete(release.releaseId);
      if (!release.swarmId) return;
      try {
        await this.docker.getService(release.swarmId).remove();
      } catch (error) {
        if (dockerStatus(error) !== 404)
          this.options.logger?.warn(
            { service: release.name, err: error },
            `removing the swarm service failed: ${dockerMessage(error)}`,
          );
      }
      await this.waitTasksGone(release.swarmId, gracePeriodMs + STOP_EXTRA_WAIT_MS);
      this.options.logger?.info({ service: release.name }, 'swarm service removed');
    })();
    return release.removing;
  }

  /**
   * Swarm removes a service's task containers after the service; waits until
   * none runs on this daemon's node. The tasks of other nodes are out of the
   * rotation already (stop drains first); their containers go on their nodes.
   */
  private async waitTasksGone(swarmId: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        const left = await this.docker.listContainers({
          filters: { label: [`com.docker.swarm.service.id=${swarmId}`] },
        });
        if (left.length === 0) return;
      } catch {
        return;
      }
      await sleep(POLL_MS);
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
