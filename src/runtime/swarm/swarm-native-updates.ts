import net from 'node:net';
import type {
  NativeOrchestrator,
  NativeRollingSettings,
  NativeRollingUpdates,
  NativeUpdateProgress,
  NativeUpdateTarget,
} from '../index.js';
import type Docker from 'dockerode';
import { updateConfigOf, type SwarmReleaseSpec } from './swarm-service-spec.js';
import { isServing, portOf, type SwarmTask, type SwarmUpdateProgress } from './swarm-tasks.js';

/** A task that Swarm calls running but whose port does not answer yet (an image without HEALTHCHECK) gets no traffic. */
const PROBE_TIMEOUT_MS = 500;

/** The SwarmRuntime's side of an update (declared here so this file does not import the runtime that builds it). */
export interface SwarmUpdater {
  updateRelease(
    fromReleaseId: string,
    to: SwarmReleaseSpec,
    update: Docker.UpdateConfig,
  ): Promise<{ serviceName: string }>;
  updateProgress(releaseId: string): Promise<SwarmUpdateProgress>;
  taskHealth(containerId: string): Promise<{ status: string; output: string } | null>;
  rollbackUpdate(releaseId: string): Promise<void>;
  /** Where a task is dialled: the address of its node. */
  taskAddress(task: SwarmTask): Promise<string>;
  finishUpdate(fromReleaseId: string, outcome: 'completed' | 'rolled-back', toReleaseId: string): Promise<void>;
}

/**
 * Swarm's own rolling update behind the Runtime port's capability: the
 * strategy becomes the service's UpdateConfig, progress is Swarm's
 * UpdateStatus with the running tasks of both generations, and the "why" of a
 * failure is read from the new release's tasks (their errors, their
 * HEALTHCHECK output) while Swarm still has them.
 */
export class SwarmNativeUpdates implements NativeRollingUpdates {
  readonly orchestrator: NativeOrchestrator = {
    name: 'Swarm',
    key: 'swarm',
    object: 'service',
    unit: 'task',
    rolledBackCode: 'SWARM_ROLLED_BACK',
    undoHint: (name) => `Fix it with \`docker service update --rollback ${name}\` or deploy again.`,
  };
  /** Tasks whose port answered once, per updated release: a task is probed until it does, then trusted. */
  private readonly answering = new Map<string, Set<string>>();
  /** The release each update goes to, to tell the new generation's tasks from the old. */
  private readonly targets = new Map<string, string>();

  constructor(private readonly runtime: SwarmUpdater) {}

  async start(
    fromReleaseId: string,
    to: NativeUpdateTarget,
    settings: NativeRollingSettings,
  ): Promise<{ name: string; settings: Docker.UpdateConfig }> {
    this.answering.set(fromReleaseId, new Set());
    this.targets.set(fromReleaseId, to.releaseId);
    const update = updateConfigOf(settings);
    const { serviceName } = await this.runtime.updateRelease(fromReleaseId, to, update);
    return { name: serviceName, settings: update };
  }

  async progress(fromReleaseId: string): Promise<NativeUpdateProgress> {
    const progress = await this.runtime.updateProgress(fromReleaseId);
    const target = this.targets.get(fromReleaseId);
    const problems: string[] = [];
    for (const task of progress.tasks) {
      if (task.releaseId !== target) continue;
      if (task.error) problems.push(`task ${task.id.slice(0, 12)} (slot ${task.slot}) ${task.state}: ${task.error}`);
      // Swarm only calls a task running once its HEALTHCHECK passes; a failing check is the usual "why".
      if (task.state === 'starting' && task.containerId && progress.state === 'updating') {
        const health = await this.runtime.taskHealth(task.containerId);
        if (health?.status === 'unhealthy')
          problems.push(
            `task ${task.id.slice(0, 12)} (slot ${task.slot}): its HEALTHCHECK says unhealthy (${health.output})`,
          );
      }
    }
    let answering = this.answering.get(fromReleaseId);
    if (!answering) this.answering.set(fromReleaseId, (answering = new Set()));
    const tasks: NativeUpdateProgress['tasks'] = [];
    for (const task of progress.tasks) {
      const port = portOf(task);
      if (!isServing(task) || port === null) continue;
      const host = await this.runtime.taskAddress(task);
      if (!answering.has(task.id) && (await answers(host, port))) answering.add(task.id);
      tasks.push({
        id: task.id,
        slot: task.slot,
        version: task.version,
        host,
        port,
        answers: answering.has(task.id),
      });
    }
    return { state: progress.state, message: progress.message, tasks, problems };
  }

  rollback(fromReleaseId: string): Promise<void> {
    return this.runtime.rollbackUpdate(fromReleaseId);
  }

  async finish(fromReleaseId: string, outcome: 'completed' | 'rolled-back', toReleaseId: string): Promise<void> {
    this.answering.delete(fromReleaseId);
    this.targets.delete(fromReleaseId);
    await this.runtime.finishUpdate(fromReleaseId, outcome, toReleaseId);
  }
}

function answers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(PROBE_TIMEOUT_MS, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
