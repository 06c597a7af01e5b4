import type Docker from 'dockerode';
import type { InstanceInfo } from '../index.js';
import type { LogCopy } from '../docker/container-logs.js';
import type { SwarmTask } from './swarm-tasks.js';

/** One release = one Swarm service. */
export interface SwarmRelease {
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

/** A task of a release's service that the runtime holds as one instance. */
export interface ManagedTask {
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

/**
 * Takes `task` on as the instance `info` of `release` (the runtime's
 * manage): its output is copied to the instance's log (a `header` line
 * first, from `since`), and its exit is reported.
 */
export type ManageTask = (
  info: InstanceInfo,
  release: SwarmRelease,
  task: SwarmTask,
  header: string | null,
  since: number,
) => Promise<void>;
