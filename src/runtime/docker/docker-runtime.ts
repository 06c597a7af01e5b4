import { setTimeout as sleep } from 'node:timers/promises';
import type Docker from 'dockerode';
import type { DockerServiceConfig } from '../../config/types.js';
import { CutoverError } from '../../core/errors.js';
import type { InstanceExit, InstanceInfo, InstanceSpec, Runtime } from '../index.js';
import { ManagedInstances } from '../managed-instances.js';
import { findFreePort } from '../process/free-port.js';
import { instanceLogPath, tailInstanceLog } from '../process/log-files.js';
import { instanceIdOf, type RuntimeLogger } from '../process/process-runtime.js';
import { containerHealthOf, exitStatusOf, waitForContainerExit, type ContainerHealth } from './container-state.js';
import { copyContainerLogs, logSince, type LogCopy } from './container-logs.js';
import { LABELS, planContainer, stopTimeoutSeconds, type ContainerPlan } from './container-spec.js';
import { dockerMessage, dockerStatus, startFailure } from './docker-client.js';
import { ImageProvider } from './image-policy.js';

/** A container's own HEALTHCHECK verdict; null when its image defines none. */
export type { ContainerHealth } from './container-state.js';

export interface DockerRuntimeOptions {
  docker: Docker;
  /** The daemon's address, for error messages. */
  daemonHost: string;
  /** Identifies this state directory on the daemon (label cutover.owner and part of container names). */
  owner: string;
  /** The docker settings of a service (its `image`, `pull`, ...). */
  settingsFor(service: string): DockerServiceConfig | undefined;
  /** Instance logs go to `<logDir>/<service>/<releaseId>/<slot>-<index>.log`, as with the process runtime. */
  logDir: string;
  /** Address the proxy dials; loopback by default. */
  host?: string;
  logger?: RuntimeLogger;
  /** Grace period for adopted containers, whose spec is not recorded. Default 10 s. */
  defaultStopGracePeriodMs?: number;
}

interface ManagedContainer {
  info: InstanceInfo;
  container: Docker.Container;
  gracePeriodMs: number;
  logs: LogCopy | null;
  stopRequested: boolean;
  stopping: Promise<void> | null;
  exited: boolean;
  /** Resolves once the exit has been handled (listeners told). */
  exitHandled: Promise<void>;
}

/** How long the output of a stopped container may take to reach its log file before the exit is reported anyway. */
const LOG_FLUSH_MS = 2_000;
/** Past the grace period, how long a stop waits for the daemon to report the exit. */
const STOP_EXTRA_WAIT_MS = 15_000;
/** How long to wait for a removal another request started. */
const REMOVAL_WAIT_MS = 10_000;

/**
 * Instances as Docker containers, through the Engine API. Each container gets
 * a free loopback port (host networking: the app listens on it; bridge: it is
 * published there), labels that name its service, release, slot and instance,
 * and its output copied into the same log file the process runtime writes.
 * Containers outlive a crashed controller; `adopt()` finds them by label.
 * Restarts are the controller's: the daemon's restart policy is "no".
 */
export class DockerRuntime extends ManagedInstances<ManagedContainer> implements Runtime {
  readonly kind = 'docker';
  private readonly docker: Docker;
  private readonly options: DockerRuntimeOptions;
  private readonly host: string;
  private readonly images: ImageProvider;
  private readonly logPaths = new Map<string, string>();

  constructor(options: DockerRuntimeOptions) {
    super(options.logger);
    this.options = options;
    this.docker = options.docker;
    this.host = options.host ?? '127.0.0.1';
    this.images = new ImageProvider(options.docker, options.daemonHost);
  }

  async start(spec: InstanceSpec): Promise<InstanceInfo> {
    const id = instanceIdOf(spec);
    if (this.closed)
      throw new CutoverError('INSTANCE_START_FAILED', `Cannot start ${id}: the docker runtime is shutting down.`);
    const running = this.instances.get(id);
    if (running) {
      throw new CutoverError(
        'INSTANCE_START_FAILED',
        `Cannot start ${id}: it is already running (container ${running.container.id.slice(0, 12)}).`,
        {
          hint: 'Stop the running instance first.',
        },
      );
    }
    const settings = this.options.settingsFor(spec.service);
    if (!settings)
      throw new CutoverError('INTERNAL', `Cannot start ${id}: service ${spec.service} has no docker settings.`);

    const port = await findFreePort(this.host);
    const plan = planContainer(spec, settings, this.options.owner, this.host, port);
    await this.images.ensure(plan.image, settings.pull, id);
    const container = await this.create(plan, id);
    const logPath = instanceLogPath(this.options.logDir, spec);
    this.logPaths.set(id, logPath);

    try {
      await container.start();
    } catch (error) {
      await this.remove(container);
      throw startFailure(id, `starting a container of ${plan.image}`, error, this.options.daemonHost);
    }
    let pid: number | null = null;
    try {
      pid = (await container.inspect()).State.Pid || null;
    } catch {
      // Gone already (it crashed at once): the exit watch below reports it.
    }
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
      // The container id: what proves, after a restart, that a record names this container.
      pidToken: container.id,
      logPath,
      startedAt: Date.now(),
    };
    const header = `--- cutover ${new Date().toISOString()}: starting ${id} (version ${spec.version}) as container ${container.id.slice(0, 12)} of ${plan.image} on ${this.host}:${port}`;
    const logs = await copyContainerLogs(this.docker, container, logPath, header, 0).catch((error: unknown) => {
      this.options.logger?.warn({ instance: id, err: error }, 'cannot follow the container output');
      return null;
    });
    this.manage(info, container, spec.stopGracePeriodMs, logs);
    this.options.logger?.info(
      { instance: id, container: container.id.slice(0, 12), image: plan.image, pid, port, logPath },
      'instance started',
    );
    if (this.closed) {
      await this.stop(id);
      throw new CutoverError(
        'INSTANCE_START_FAILED',
        `Cannot start ${id}: the docker runtime shut down during the start.`,
      );
    }
    return { ...info };
  }

  /**
   * Takes back the running containers of this state directory that the store
   * still records, matched by their labels and container id. Containers of
   * this state directory that no record names (the controller died between
   * creating one and recording it) serve nobody and are removed.
   */
  async adopt(records: InstanceInfo[]): Promise<InstanceInfo[]> {
    let containers: Docker.ContainerInfo[];
    try {
      containers = await this.docker.listContainers({
        all: true,
        filters: { label: [`${LABELS.owner}=${this.options.owner}`] },
      });
    } catch (error) {
      this.options.logger?.warn(
        { err: error, daemon: this.options.daemonHost },
        `cannot list containers, none adopted: ${dockerMessage(error)}`,
      );
      return [];
    }
    const byId = new Map(containers.map((c) => [c.Id, c]));
    const adopted: InstanceInfo[] = [];
    const kept = new Set<string>();
    for (const record of records) {
      const found = record.pidToken ? byId.get(record.pidToken) : undefined;
      const reason = this.whyNotAdopt(record, found);
      if (reason || !found) {
        this.options.logger?.info({ instance: record.id, reason }, 'instance not adopted');
        continue;
      }
      const container = this.docker.getContainer(found.Id);
      let pid = record.pid;
      try {
        pid = (await container.inspect()).State.Pid || null;
      } catch {
        continue; // removed since the listing
      }
      kept.add(found.Id);
      const info: InstanceInfo = { ...record, pid };
      this.logPaths.set(info.id, info.logPath);
      const logs = await copyContainerLogs(this.docker, container, info.logPath, null, logSince(info.logPath)).catch(
        () => null,
      );
      this.manage(info, container, this.options.defaultStopGracePeriodMs ?? 10_000, logs);
      this.options.logger?.info(
        { instance: info.id, container: found.Id.slice(0, 12), port: info.port },
        'instance adopted',
      );
      adopted.push({ ...info });
    }
    await Promise.all(
      containers
        .filter((c) => !kept.has(c.Id) && !this.isManaged(c.Id))
        .map(async (c) => {
          this.options.logger?.info(
            { container: c.Id.slice(0, 12), labels: c.Labels },
            'removing a container of this state directory that no record names',
          );
          await this.remove(this.docker.getContainer(c.Id));
        }),
    );
    return adopted;
  }

  tailLog(instanceId: string, lines: number): Promise<string> {
    return tailInstanceLog(this.options.logDir, this.logPaths.get(instanceId), instanceId, lines);
  }

  protected letGo(managed: ManagedContainer): void {
    // `exited` ends the wait loop at its next turn; the log copy stops, and adopt() resumes it from the file's end.
    managed.exited = true;
    managed.logs?.stop();
  }

  protected gracePeriodOf(managed: ManagedContainer): number {
    return managed.gracePeriodMs;
  }

  /**
   * The container's own HEALTHCHECK status as Docker last judged it, or null
   * when its image has no HEALTHCHECK (or the instance is unknown). Cutover's
   * configured health check still gates traffic; this is the image author's
   * opinion, for a health gate or `status` to combine with it.
   */
  async containerHealth(instanceId: string): Promise<ContainerHealth> {
    const managed = this.instances.get(instanceId);
    if (!managed) return null;
    return containerHealthOf(managed.container);
  }

  // --- internals --------------------------------------------------------------

  /** Creates the container; a leftover of this state directory with the same name (a crash mid-start) is removed first. */
  private async create(plan: ContainerPlan, id: string): Promise<Docker.Container> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.docker.createContainer(plan.options);
      } catch (error) {
        if (dockerStatus(error) === 409 && attempt === 0 && (await this.removeLeftover(plan.name))) continue;
        throw startFailure(id, `creating a container of ${plan.image}`, error, this.options.daemonHost);
      }
    }
  }

  private async removeLeftover(name: string): Promise<boolean> {
    try {
      const existing = await this.docker.getContainer(name).inspect();
      if (existing.Config.Labels?.[LABELS.owner] !== this.options.owner || this.isManaged(existing.Id)) return false;
      await this.remove(this.docker.getContainer(existing.Id));
      return true;
    } catch {
      return false;
    }
  }

  private isManaged(containerId: string): boolean {
    for (const managed of this.instances.values()) if (managed.container.id === containerId) return true;
    return false;
  }

  private whyNotAdopt(record: InstanceInfo, found: Docker.ContainerInfo | undefined): string | null {
    if (this.instances.has(record.id)) return 'already managed';
    if (!found) return 'no container of this state directory has the recorded id';
    const labels = found.Labels;
    if (
      labels[LABELS.service] !== record.service ||
      labels[LABELS.release] !== record.releaseId ||
      labels[LABELS.slot] !== record.slot ||
      labels[LABELS.instance] !== String(record.index)
    ) {
      return 'the container labels name another instance';
    }
    if (found.State !== 'running') return `the container is ${found.State}`;
    return null;
  }

  private manage(
    info: InstanceInfo,
    container: Docker.Container,
    gracePeriodMs: number,
    logs: LogCopy | null,
  ): ManagedContainer {
    const managed: ManagedContainer = {
      info: { ...info },
      container,
      gracePeriodMs,
      logs,
      stopRequested: false,
      stopping: null,
      exited: false,
      exitHandled: Promise.resolve(),
    };
    this.instances.set(info.id, managed);
    managed.exitHandled = waitForContainerExit(container, () => managed.exited).then(async (code) => {
      await logs?.finished(LOG_FLUSH_MS);
      await this.handleExit(managed, code);
    });
    return managed;
  }

  /**
   * The exit code once the container stopped (null when it vanished, or when
   * `given up` turns true). Survives the daemon dropping the long wait request.
   */
  protected async terminate(managed: ManagedContainer, gracePeriodMs: number): Promise<void> {
    managed.stopRequested = true;
    const { id } = managed.info;
    this.options.logger?.info(
      { instance: id, container: managed.container.id.slice(0, 12), gracePeriodMs },
      'instance stopping',
    );
    try {
      // SIGTERM (the image's STOPSIGNAL), then SIGKILL after the grace period: Docker's own stop.
      await managed.container.stop({ t: stopTimeoutSeconds(gracePeriodMs) });
    } catch (error) {
      const status = dockerStatus(error);
      if (status !== 304 && status !== 404) {
        this.options.logger?.warn(
          { instance: id, err: error },
          `stopping the container failed: ${dockerMessage(error)}`,
        );
      }
    }
    // Docker's stop returns once the container is down; if the daemon went away instead, do not wait for ever.
    const bound = sleep(gracePeriodMs + STOP_EXTRA_WAIT_MS, 'timeout' as const, { ref: false });
    if ((await Promise.race([managed.exitHandled.then(() => 'exited' as const), bound])) === 'timeout') {
      this.options.logger?.warn(
        { instance: id, container: managed.container.id.slice(0, 12) },
        'the container did not report its exit; giving up waiting',
      );
      await this.handleExit(managed, null);
      return;
    }
    await this.remove(managed.container);
  }

  /** Removes a container (stopping it if need be) and resolves once it is gone. */
  private async remove(container: Docker.Container): Promise<void> {
    try {
      await container.remove({ force: true });
      return;
    } catch (error) {
      const status = dockerStatus(error);
      if (status === 404) return;
      // 409: a removal is already in progress (another request); wait for it below.
      if (status !== 409) {
        this.options.logger?.warn(
          { container: container.id.slice(0, 12), err: error },
          `removing the container failed: ${dockerMessage(error)}`,
        );
        return;
      }
    }
    const deadline = Date.now() + REMOVAL_WAIT_MS;
    while (Date.now() < deadline) {
      try {
        await container.inspect();
      } catch {
        return;
      }
      await sleep(50);
    }
  }

  private async handleExit(managed: ManagedContainer, statusCode: number | null): Promise<void> {
    if (managed.exited) return;
    managed.exited = true;
    managed.logs?.stop();
    if (this.instances.get(managed.info.id) === managed) this.instances.delete(managed.info.id);
    const expected = managed.stopRequested;
    // A crashed container is removed at once: its output is in the log file, and a restart reuses its name.
    if (!expected) await this.remove(managed.container);
    const { code, signal } = exitStatusOf(statusCode);
    const exit: InstanceExit = { instance: { ...managed.info }, code, signal, expected };
    const fields = { instance: managed.info.id, container: managed.container.id.slice(0, 12), code, signal, expected };
    if (expected) this.options.logger?.info(fields, 'instance stopped');
    else this.options.logger?.warn(fields, 'instance exited unexpectedly');
    this.exits.notify(exit);
  }
}
