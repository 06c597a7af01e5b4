import type Docker from 'dockerode';
import type { InstanceInfo } from '../index.js';
import { logSince } from '../docker/container-logs.js';
import { dockerMessage } from '../docker/docker-client.js';
import type { RuntimeLogger } from '../process/process-runtime.js';
import type { SwarmNodes } from './swarm-nodes.js';
import type { ManagedTask, ManageTask, SwarmRelease } from './swarm-release.js';
import { SWARM_LABELS } from './swarm-service-spec.js';
import { isServing, listSwarmTasks, portOf, type SwarmTask } from './swarm-tasks.js';

/** What taking services back after a controller restart needs of the swarm runtime. */
export interface SwarmAdoptionContext {
  docker: Docker;
  /** The daemon's address (a Swarm manager), for log lines. */
  daemonHost: string;
  /** The state directory's owner label: the services adopted (or removed) are this owner's only. */
  owner: string;
  logger?: RuntimeLogger;
  nodes: SwarmNodes;
  /** The runtime's releases by id: a service one of them runs already is not removed. */
  releases: ReadonlyMap<string, SwarmRelease>;
  /** The runtime's release of an instance, made on first use. */
  releaseOf(instance: InstanceInfo): SwarmRelease;
  /** The runtime's instances by id: one held already is not adopted again. */
  instances: ReadonlyMap<string, ManagedTask>;
  /** Instance id to its log file, for tailLog. */
  logPaths: Map<string, string>;
  manage: ManageTask;
  /** Asks Swarm to roll the update of a release's service back (see SwarmReleaseUpdater). */
  rollbackUpdate(releaseId: string): Promise<void>;
}

/** The swarm runtime's adopt(): the services and tasks of a previous controller taken back. */
export class SwarmAdoption {
  constructor(private readonly context: SwarmAdoptionContext) {}

  /**
   * After a controller restart: the services of this state directory (label
   * cutover.owner) are found by their release label, and each recorded
   * instance whose slot has a running task is taken back, on that task's
   * port (Swarm may have replaced the task meanwhile). A service no record
   * names (the controller died between creating it and recording an instance)
   * serves nobody and is removed.
   */
  async adopt(records: InstanceInfo[]): Promise<InstanceInfo[]> {
    const { docker, logger } = this.context;
    let services: Docker.Service[];
    try {
      services = await docker.listServices({
        filters: { label: [`${SWARM_LABELS.owner}=${this.context.owner}`] },
      });
    } catch (error) {
      logger?.warn(
        { err: error, daemon: this.context.daemonHost },
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
        if (![...this.context.releases.values()].some((r) => r.swarmId === service.ID)) {
          logger?.info(
            { service: service.Spec?.Name, release: releaseId },
            'removing a swarm service of this state directory that no record names',
          );
          await docker
            .getService(service.ID)
            .remove()
            .catch(() => {});
        }
        continue;
      }
      const first = mine[0] as InstanceInfo;
      const release = this.context.releaseOf(first);
      release.swarmId = service.ID;
      release.name = service.Spec?.Name ?? release.name;
      release.portBase = Number(labels[SWARM_LABELS.portBase] ?? 0);
      release.replicas = service.Spec?.Mode?.Replicated?.Replicas ?? mine.length;
      const tasks = await listSwarmTasks(docker, service.ID).catch(() => [] as SwarmTask[]);
      for (const record of mine) {
        if (this.context.instances.has(record.id)) continue;
        const task = tasks.find((t) => t.slot === record.index + 1 && isServing(t) && t.releaseId === releaseId);
        if (!task) {
          logger?.info({ instance: record.id }, 'instance not adopted: its task slot has no running task');
          continue;
        }
        release.wanted.add(record.index);
        const info: InstanceInfo = {
          ...record,
          pid: null,
          ...(await this.context.nodes.placementOf(task.nodeId)),
          port: portOf(task) ?? record.port,
          pidToken: task.containerId,
        };
        this.context.logPaths.set(info.id, info.logPath);
        await this.context.manage(info, release, task, null, logSince(info.logPath));
        logger?.info({ instance: info.id, task: task.id.slice(0, 12), port: info.port }, 'instance adopted');
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
    const { logger } = this.context;
    const previous = service.PreviousSpec?.Labels ?? {};
    const recorded = records.find(
      (record) =>
        record.releaseId === previous[SWARM_LABELS.release] && record.service === previous[SWARM_LABELS.service],
    );
    if (!recorded) return false;
    const release = this.context.releaseOf(recorded);
    release.swarmId = service.ID;
    release.name = service.Spec?.Name ?? release.name;
    release.portBase = Number(previous[SWARM_LABELS.portBase] ?? 0);
    release.replicas = service.PreviousSpec?.Mode?.Replicated?.Replicas ?? 1;
    logger?.warn(
      { service: release.name, release: recorded.releaseId },
      'a swarm update was interrupted by a controller restart: rolling the service back',
    );
    await this.context.rollbackUpdate(recorded.releaseId).catch((error: unknown) => {
      logger?.warn(
        { service: release.name, err: error },
        `the rollback of the interrupted update failed: ${dockerMessage(error)}`,
      );
    });
    return true;
  }
}
