import { setTimeout as sleep } from 'node:timers/promises';
import type Docker from 'dockerode';
import { dockerStatus } from '../docker/docker-client.js';
import { PORT_BASE_ENV, SWARM_LABELS } from './swarm-service-spec.js';

/** What cutover reads of a Swarm task (the Engine API's Task, typed loosely by dockerode). */
export interface SwarmTask {
  id: string;
  slot: number;
  /** new, pending, assigned, accepted, preparing, starting, running, complete, failed, shutdown, rejected, orphaned, remove. */
  state: string;
  desiredState: string;
  /** The node Swarm placed it on (null before it is assigned). */
  nodeId: string | null;
  containerId: string | null;
  exitCode: number | null;
  /** From the task's own spec: tasks of two generations (an update) have different bases. */
  portBase: number | null;
  releaseId: string | null;
  version: string | null;
  /** Swarm's reason for a failed or rejected task. */
  error: string | null;
  createdAt: number;
}

/** What a native update looks like right now. */
export interface SwarmUpdateProgress {
  /** Swarm's UpdateStatus.State: updating, paused, completed, rollback_started, rollback_paused, rollback_completed; null before Swarm reports one. */
  state: string | null;
  message: string | null;
  tasks: SwarmTask[];
}

interface RawTask {
  ID: string;
  Slot?: number;
  NodeID?: string;
  DesiredState?: string;
  CreatedAt?: string;
  Status?: {
    State?: string;
    Err?: string;
    Message?: string;
    ContainerStatus?: { ContainerID?: string; ExitCode?: number };
  };
  Spec?: { ContainerSpec?: { Env?: string[]; Labels?: Record<string, string> } };
}

export async function listSwarmTasks(docker: Docker, serviceId: string): Promise<SwarmTask[]> {
  const raw = (await docker.listTasks({ filters: { service: [serviceId] } })) as RawTask[];
  return raw.map(toTask).sort((a, b) => a.slot - b.slot || b.createdAt - a.createdAt);
}

function toTask(raw: RawTask): SwarmTask {
  const env = raw.Spec?.ContainerSpec?.Env ?? [];
  const base = env.find((entry) => entry.startsWith(`${PORT_BASE_ENV}=`))?.slice(PORT_BASE_ENV.length + 1);
  const labels = raw.Spec?.ContainerSpec?.Labels ?? {};
  return {
    id: raw.ID,
    slot: raw.Slot ?? 0,
    state: raw.Status?.State ?? 'unknown',
    desiredState: raw.DesiredState ?? 'unknown',
    nodeId: raw.NodeID || null,
    containerId: raw.Status?.ContainerStatus?.ContainerID || null,
    exitCode: raw.Status?.ContainerStatus?.ExitCode ?? null,
    portBase: base !== undefined && /^\d+$/.test(base) ? Number(base) : null,
    releaseId: labels[SWARM_LABELS.release] ?? null,
    version: labels[SWARM_LABELS.version] ?? null,
    error: raw.Status?.Err || null,
    createdAt: raw.CreatedAt ? Date.parse(raw.CreatedAt) : 0,
  };
}

/** A task that serves: running, and meant to keep running. */
export function isServing(task: SwarmTask): boolean {
  return task.state === 'running' && task.desiredState === 'running' && task.containerId !== null;
}

/** The port a task listens on (its generation's base + slot - 1), null when its spec has no base. */
export function portOf(task: SwarmTask): number | null {
  return task.portBase === null ? null : task.portBase + task.slot - 1;
}

/** Failed before it ever ran: Swarm will not get this one going (rejected: no such image, no node fits the placement...). */
export function hasFailed(task: SwarmTask): boolean {
  return task.state === 'failed' || task.state === 'rejected';
}

/** Between looks at a task on another node: its container's exit is not visible to the manager's container API. */
const TASK_POLL_MS = 500;

/**
 * The exit of a task that runs on another node, seen through the Swarm API:
 * the task is no longer running (or Swarm no longer wants it), it is gone,
 * or its node is down (Swarm then still lists it as running, for want of an
 * agent to say otherwise, and starts a replacement elsewhere). Resolves with
 * the exit code Swarm recorded, null when there is none; null as well once
 * `givenUp` says to stop looking.
 */
export async function waitForTaskEnd(
  docker: Docker,
  taskId: string,
  nodeIsDown: (nodeId: string | null) => Promise<boolean>,
  givenUp: () => boolean,
): Promise<number | null> {
  while (!givenUp()) {
    try {
      const task = toTask((await docker.getTask(taskId).inspect()) as RawTask);
      if (!isServing(task) || (await nodeIsDown(task.nodeId))) return task.exitCode;
    } catch (error) {
      if (dockerStatus(error) === 404) return null;
      // The manager did not answer: look again (a daemon away is not a crash).
    }
    await sleep(TASK_POLL_MS, undefined, { ref: false });
  }
  return null;
}

/** `/tasks/{id}/logs` (the service logs API for one task): the manager gathers them from the task's node. */
export function followTaskLogs(docker: Docker, taskId: string, since: number): Promise<NodeJS.ReadableStream> {
  // dockerode has Task#logs; its type declarations leave it out.
  const task = docker.getTask(taskId) as Docker.Task & {
    logs(options: { follow: true; stdout: true; stderr: true; since: number }): Promise<NodeJS.ReadableStream>;
  };
  return task.logs({ follow: true, stdout: true, stderr: true, since });
}

/** A task's last `lines` of output, framed as a container's (8-byte headers); through the manager, from any node. */
export async function lastTaskLogs(docker: Docker, taskId: string, lines: number): Promise<Buffer> {
  const task = docker.getTask(taskId) as Docker.Task & {
    logs(options: { follow: false; stdout: true; stderr: true; tail: number }): Promise<Buffer | NodeJS.ReadableStream>;
  };
  const answer = await task.logs({ follow: false, stdout: true, stderr: true, tail: lines });
  if (Buffer.isBuffer(answer)) return answer;
  const chunks: Buffer[] = [];
  for await (const chunk of answer as AsyncIterable<Buffer | string>)
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks);
}
