import type Docker from 'dockerode';
import { PORT_BASE_ENV, SWARM_LABELS } from './swarm-service-spec.js';

/** What cutover reads of a Swarm task (the Engine API's Task, typed loosely by dockerode). */
export interface SwarmTask {
  id: string;
  slot: number;
  /** new, pending, assigned, accepted, preparing, starting, running, complete, failed, shutdown, rejected, orphaned, remove. */
  state: string;
  desiredState: string;
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
