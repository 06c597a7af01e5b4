import { setTimeout as sleep } from 'node:timers/promises';
import type Docker from 'dockerode';
import type { ServiceConfig } from '../../config/types.js';
import { CutoverError } from '../../core/errors.js';
import type { InstanceSpec } from '../index.js';
import { dockerMessage, dockerStatus, startFailure } from '../docker/docker-client.js';
import type { ImageProvider } from '../docker/image-policy.js';
import type { RuntimeLogger } from '../process/process-runtime.js';
import { findFreePortRange } from './port-range.js';
import type { SwarmNodes } from './swarm-nodes.js';
import type { SwarmRelease } from './swarm-release.js';
import { imageOf, planSwarmService, SWARM_LABELS } from './swarm-service-spec.js';
import { hasFailed, isServing, lastTaskLogs, listSwarmTasks, type SwarmTask } from './swarm-tasks.js';
import { withLogTail } from '../../core/log-tail-message.js';

const POLL_MS = 200;
/** A task of a new service may need its image unpacked and its HEALTHCHECK passed before Swarm calls it running. */
const TASK_START_TIMEOUT_MS = 120_000;
/** Failed tasks of one slot, in a row, after which a start is given up (Swarm retries every second). */
const FAILED_TASKS_BEFORE_GIVING_UP = 3;
/** Beyond a stop's grace period: how long the tasks of a stopped instance or service are waited for. */
export const STOP_EXTRA_WAIT_MS = 15_000;
/**
 * Ports are checked free on every address of this machine: tasks of
 * several nodes may share it (the tests' loopback swarm), and on the
 * manager a task may bind any of them. Ports of other machines cannot be
 * checked from here; a task that finds its port taken fails its health
 * check and no traffic moves to it.
 */
export const PORT_PROBE_HOST = '0.0.0.0';

/** What the service lifecycle needs of the swarm runtime. */
export interface SwarmServicesContext {
  docker: Docker;
  /** The daemon's address (a Swarm manager), for error messages. */
  daemonHost: string;
  /** The state directory's owner label: a service of another owner is never removed here. */
  owner: string;
  /** Where the tasks on the manager listen (and of a node Swarm has no address for). */
  host: string;
  logger?: RuntimeLogger;
  nodes: SwarmNodes;
  images: ImageProvider;
  /** The runtime's releases by id: a removed release leaves it, and a service one of them runs is no leftover. */
  releases: Map<string, SwarmRelease>;
  /** The runtime is shutting down: a start in progress gives up. */
  isClosed(): boolean;
  /** A task container that is no new task of its slot: an instance holds it already, or it was seen to exit. */
  isTaken(containerId: string | null): boolean;
}

/**
 * The Swarm service of each release through its life: created on the first
 * start of an instance, scaled to the instances asked for, its tasks waited
 * for, removed with the release's last instance.
 */
export class SwarmServices {
  constructor(private readonly context: SwarmServicesContext) {}

  /** Creates the release's service on its first start, or scales it up to the instances asked for. */
  async ensureService(release: SwarmRelease, spec: InstanceSpec, config: ServiceConfig, id: string): Promise<void> {
    const { docker, daemonHost, owner, logger } = this.context;
    if (release.removing)
      throw new CutoverError('INSTANCE_START_FAILED', `Cannot start ${id}: its release is being stopped.`);
    const replicas = Math.max(...release.wanted) + 1;
    if (release.swarmId !== null) {
      if (release.replicas < replicas) await this.scale(release, replicas, id);
      return;
    }
    const settings = config.docker!;
    const image = imageOf(settings, spec.version);
    await this.context.images.ensure(image, settings.pull, id);
    const imageCommand = await this.imageCommand(image, id);
    // Ports for every instance the release will have, so a later scale-up finds its ports checked too.
    const portBase = await findFreePortRange(PORT_PROBE_HOST, Math.max(replicas, config.instances));
    const plan = planSwarmService({
      release: spec,
      settings,
      swarm: config.swarm!,
      owner,
      host: this.context.host,
      nodeAddresses: await this.context.nodes.addressTable(),
      portBase,
      replicas,
      imageCommand,
      update: null,
    });
    release.name = plan.name;
    for (let attempt = 0; ; attempt++) {
      try {
        const created = await docker.createService(plan.spec as Docker.CreateServiceOptions);
        release.swarmId = created.id;
        release.portBase = portBase;
        release.replicas = replicas;
        logger?.info({ service: plan.name, image: plan.image, replicas, portBase }, 'swarm service created');
        return;
      } catch (error) {
        if (dockerStatus(error) === 409 && attempt === 0 && (await this.removeLeftover(plan.name))) continue;
        throw startFailure(id, `creating swarm service ${plan.name} of ${plan.image}`, error, daemonHost);
      }
    }
  }

  /** The image's Entrypoint + Cmd: what the wrapper execs when the config has no command. */
  async imageCommand(image: string, id: string): Promise<string[]> {
    try {
      const config = (await this.context.docker.getImage(image).inspect()).Config;
      return [...(config.Entrypoint ?? []), ...(config.Cmd ?? [])];
    } catch (error) {
      throw startFailure(id, `inspecting image ${image}`, error, this.context.daemonHost);
    }
  }

  async scale(release: SwarmRelease, replicas: number, id: string): Promise<void> {
    if (!release.swarmId) return;
    try {
      const service = this.context.docker.getService(release.swarmId);
      const current = (await service.inspect()) as Docker.Service;
      const spec: Docker.ServiceSpec = { ...current.Spec, Mode: { Replicated: { Replicas: replicas } } };
      await service.update({ _query: { version: current.Version?.Index }, _body: spec });
      release.replicas = replicas;
    } catch (error) {
      throw startFailure(id, `scaling swarm service ${release.name} to ${replicas}`, error, this.context.daemonHost);
    }
  }

  /**
   * The running task of a slot that no instance holds yet. A task of this slot
   * that failed or was rejected after the start began fails the start with
   * Swarm's reason (it would only be retried in a loop); so does a task that
   * Swarm cannot place (pending with an error: no node fits the constraints).
   */
  async waitForTask(release: SwarmRelease, index: number, id: string, since: number): Promise<SwarmTask> {
    const { docker, releases } = this.context;
    const slot = index + 1;
    const deadline = Date.now() + TASK_START_TIMEOUT_MS;
    let last = 'no task yet';
    for (;;) {
      if (release.removing || this.context.isClosed() || releases.get(release.releaseId) !== release) {
        throw new CutoverError(
          'INSTANCE_START_FAILED',
          `Cannot start ${id}: its release was stopped during the start.`,
        );
      }
      let tasks: SwarmTask[] = [];
      try {
        tasks = release.swarmId ? await listSwarmTasks(docker, release.swarmId) : [];
      } catch (error) {
        last = `listing tasks failed: ${dockerMessage(error)}`;
      }
      const ofSlot = tasks.filter((t) => t.slot === slot);
      const serving = ofSlot.find(
        (t) => isServing(t) && t.releaseId === release.releaseId && !this.context.isTaken(t.containerId),
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
          withLogTail(
            `Cannot start ${id}: task ${failed.id.slice(0, 12)} of swarm service ${release.name} is ${failed.state}: ${failed.error ?? 'no reason given'}` +
              (failed.exitCode ? ` (exit code ${failed.exitCode})` : ''),
            tail,
          ),
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

  removeService(release: SwarmRelease, gracePeriodMs: number): Promise<void> {
    const { docker, releases, logger } = this.context;
    release.removing ??= (async () => {
      if (releases.get(release.releaseId) === release) releases.delete(release.releaseId);
      if (!release.swarmId) return;
      try {
        await docker.getService(release.swarmId).remove();
      } catch (error) {
        if (dockerStatus(error) !== 404)
          logger?.warn(
            { service: release.name, err: error },
            `removing the swarm service failed: ${dockerMessage(error)}`,
          );
      }
      await this.waitTasksGone(release.swarmId, gracePeriodMs + STOP_EXTRA_WAIT_MS);
      logger?.info({ service: release.name }, 'swarm service removed');
    })();
    return release.removing;
  }

  /** A service of this state directory left by a crash mid-start, with the name we need: removed when nothing here manages it. */
  private async removeLeftover(name: string): Promise<boolean> {
    const { docker } = this.context;
    try {
      const existing = (await docker.getService(name).inspect()) as Docker.Service;
      if (
        existing.Spec?.Labels?.[SWARM_LABELS.owner] !== this.context.owner ||
        [...this.context.releases.values()].some((r) => r.swarmId === existing.ID)
      )
        return false;
      await docker.getService(existing.ID).remove();
      await this.waitTasksGone(existing.ID, 15_000);
      return true;
    } catch {
      return false;
    }
  }

  /** A failed task's last lines: from its container on this node, else through Swarm from the node it ran on. */
  private async taskTail(task: SwarmTask): Promise<string> {
    const { docker } = this.context;
    try {
      const local = task.nodeId === null || task.nodeId === (await this.context.nodes.selfNodeId());
      const framed = local
        ? await docker
            .getContainer(task.containerId as string)
            .logs({ stdout: true, stderr: true, tail: 5, follow: false })
        : await lastTaskLogs(docker, task.id, 5);
      // Without a TTY the output comes in frames: an 8-byte header (stream, 0, 0, 0, length as uint32 BE), then the bytes.
      const parts: Buffer[] = [];
      for (let at = 0; at + 8 <= framed.length; at += 8 + framed.readUInt32BE(at + 4))
        parts.push(framed.subarray(at + 8, at + 8 + framed.readUInt32BE(at + 4)));
      return Buffer.concat(parts).toString('utf8').trim();
    } catch {
      return '';
    }
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
        const left = await this.context.docker.listContainers({
          filters: { label: [`com.docker.swarm.service.id=${swarmId}`] },
        });
        if (left.length === 0) return;
      } catch {
        return;
      }
      await sleep(POLL_MS);
    }
  }
}
