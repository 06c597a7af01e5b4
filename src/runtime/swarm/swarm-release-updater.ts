import type Docker from 'dockerode';
import type { ServiceConfig } from '../../config/types.js';
import { CutoverError } from '../../core/errors.js';
import type { ExitListeners } from '../exit-listeners.js';
import { startFailure } from '../docker/docker-client.js';
import type { ImageProvider } from '../docker/image-policy.js';
import { findFreePortRange } from './port-range.js';
import type { SwarmUpdater } from './swarm-native-updates.js';
import type { SwarmNodes } from './swarm-nodes.js';
import type { ManagedTask, ManageTask, SwarmRelease } from './swarm-release.js';
import { imageOf, planSwarmService, SWARM_LABELS, type SwarmReleaseSpec } from './swarm-service-spec.js';
import { PORT_PROBE_HOST } from './swarm-services.js';
import { isServing, listSwarmTasks, portOf, type SwarmTask, type SwarmUpdateProgress } from './swarm-tasks.js';

/** What a native update needs of the swarm runtime. */
export interface SwarmReleaseUpdaterContext {
  docker: Docker;
  /** The daemon's address (a Swarm manager), for error messages. */
  daemonHost: string;
  /** The state directory's owner label, on the updated service as on a created one. */
  owner: string;
  /** Where the tasks on the manager listen (and of a node Swarm has no address for). */
  host: string;
  serviceFor(service: string): ServiceConfig | undefined;
  nodes: SwarmNodes;
  images: ImageProvider;
  /** The image's Entrypoint + Cmd (see SwarmServices.imageCommand). */
  imageCommand(image: string, id: string): Promise<string[]>;
  /** The runtime's releases by id: a completed update moves its release to the new id. */
  releases: Map<string, SwarmRelease>;
  /** The runtime's instances by id: an update's end forgets or rebinds those of the old release. */
  instances: Map<string, ManagedTask>;
  manage: ManageTask;
  exits: ExitListeners;
}

/**
 * The swarm runtime's side of a native rolling update (the SwarmUpdater
 * that swarm-native-updates.ts drives): the release's service is updated in
 * place to the new release, and once Swarm is done the runtime's instances
 * follow what it did.
 */
export class SwarmReleaseUpdater implements SwarmUpdater {
  constructor(private readonly context: SwarmReleaseUpdaterContext) {}

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
    const { docker, daemonHost } = this.context;
    const release = this.context.releases.get(fromReleaseId);
    const config = this.context.serviceFor(to.service);
    const what = `update ${fromReleaseId} to ${to.releaseId}`;
    if (!release?.swarmId || release.removing)
      throw new CutoverError('INSTANCE_START_FAILED', `Cannot ${what}: no swarm service runs ${fromReleaseId}.`, {
        hint: 'Deploy again: the first deploy of a release creates its service.',
      });
    if (!config?.docker || !config.swarm)
      throw new CutoverError('INTERNAL', `Cannot ${what}: service ${to.service} has no swarm settings.`);
    const image = imageOf(config.docker, to.version);
    await this.context.images.ensure(image, config.docker.pull, to.releaseId);
    const imageCommand = await this.context.imageCommand(image, to.releaseId);
    const avoid = new Set(Array.from({ length: release.replicas }, (_, i) => release.portBase + i));
    const portBase = await findFreePortRange(PORT_PROBE_HOST, release.replicas, avoid);
    const plan = planSwarmService({
      release: to,
      settings: config.docker,
      swarm: config.swarm,
      owner: this.context.owner,
      host: this.context.host,
      nodeAddresses: await this.context.nodes.addressTable(),
      portBase,
      replicas: release.replicas,
      imageCommand,
      update,
    });
    // A service keeps its name for life.
    plan.spec.Name = release.name;
    release.updating = true;
    try {
      const service = docker.getService(release.swarmId);
      const current = (await service.inspect()) as Docker.Service;
      await service.update({ _query: { version: current.Version?.Index }, _body: plan.spec });
    } catch (error) {
      release.updating = false;
      throw startFailure(to.releaseId, `updating swarm service ${release.name}`, error, daemonHost);
    }
    return { serviceName: release.name };
  }

  async updateProgress(releaseId: string): Promise<SwarmUpdateProgress> {
    const { docker } = this.context;
    const release = this.context.releases.get(releaseId);
    if (!release?.swarmId) return { state: null, message: null, tasks: [] };
    const service = (await docker.getService(release.swarmId).inspect()) as Docker.Service;
    const tasks = await listSwarmTasks(docker, release.swarmId);
    return { state: service.UpdateStatus?.State ?? null, message: service.UpdateStatus?.Message ?? null, tasks };
  }

  /** A task container's HEALTHCHECK verdict and its last output (why it fails), null without one or when gone. */
  async taskHealth(containerId: string): Promise<{ status: string; output: string } | null> {
    try {
      const health = (await this.context.docker.getContainer(containerId).inspect()).State.Health as
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
    const release = this.context.releases.get(releaseId);
    if (!release?.swarmId) return;
    const service = this.context.docker.getService(release.swarmId);
    const current = (await service.inspect()) as Docker.Service;
    await service.update({ _query: { version: current.Version?.Index, rollback: 'previous' }, _body: current.Spec });
  }

  /** The address cutover dials a task at: its node's (see swarm-nodes.ts). */
  taskAddress(task: SwarmTask): Promise<string> {
    return this.context.nodes.addressOf(task.nodeId);
  }

  /**
   * Ends a native update. `completed`: the service now runs `toReleaseId`
   * (start() of its instances finds the running tasks); the instances of the
   * old release are forgotten, their tasks are gone. `rolled-back`: the old
   * release's instances are bound to the tasks Swarm put back (same ports: the
   * previous spec had the old base); a slot without one is reported as exited.
   */
  async finishUpdate(fromReleaseId: string, outcome: 'completed' | 'rolled-back', toReleaseId: string): Promise<void> {
    const { docker, releases, instances } = this.context;
    const release = releases.get(fromReleaseId);
    if (!release) return;
    release.updating = false;
    const old = [...instances.values()].filter((m) => m.release === release);
    if (outcome === 'completed') {
      for (const managed of old) {
        managed.logs?.stop();
        managed.exited = true;
        instances.delete(managed.info.id);
      }
      releases.delete(fromReleaseId);
      release.releaseId = toReleaseId;
      release.wanted = new Set();
      if (release.swarmId) {
        const spec = ((await docker.getService(release.swarmId).inspect()) as Docker.Service).Spec;
        release.portBase = Number(spec?.Labels?.[SWARM_LABELS.portBase] ?? release.portBase);
      }
      releases.set(toReleaseId, release);
      return;
    }
    const tasks = release.swarmId ? await listSwarmTasks(docker, release.swarmId).catch(() => [] as SwarmTask[]) : [];
    for (const managed of old) {
      const task = tasks.find(
        (t) => t.slot === managed.info.index + 1 && isServing(t) && t.releaseId === fromReleaseId,
      );
      if (task && task.containerId === managed.container.id && !managed.exited) continue;
      managed.logs?.stop();
      managed.exited = true;
      instances.delete(managed.info.id);
      if (task) {
        const info = {
          ...managed.info,
          ...(await this.context.nodes.placementOf(task.nodeId)),
          port: portOf(task) ?? managed.info.port,
          pidToken: task.containerId,
        };
        await this.context.manage(
          info,
          release,
          task,
          `--- cutover ${new Date().toISOString()}: swarm rolled back; ${info.id} is task ${task.id.slice(0, 12)}`,
          0,
        );
      } else {
        this.context.exits.notify({ instance: { ...managed.info }, code: null, signal: null, expected: false });
      }
    }
  }
}
