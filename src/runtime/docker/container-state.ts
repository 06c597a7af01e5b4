import { constants } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type Docker from 'dockerode';
import { dockerStatus } from './docker-client.js';

/** A container's own health as its HEALTHCHECK says; null when it has none. */
export type ContainerHealth = 'starting' | 'healthy' | 'unhealthy' | null;

/** Between tries to see a container's exit when the daemon dropped the wait request. */
const WAIT_RETRY_MS = 1_000;

/**
 * The exit status of a container (a docker instance, or a Swarm task's),
 * once it exits; null when it is gone without one (removed) or when
 * `givenUp` says to stop looking. A wait request the daemon dropped (a
 * restart under live restore) is asked again, with a look at the state in
 * between, so a daemon that went away is not mistaken for a crash.
 */
export async function waitForContainerExit(
  container: Docker.Container,
  givenUp: () => boolean,
): Promise<number | null> {
  while (!givenUp()) {
    try {
      const result = (await container.wait()) as { StatusCode?: number };
      return typeof result.StatusCode === 'number' ? result.StatusCode : null;
    } catch (error) {
      if (dockerStatus(error) === 404) return null;
    }
    await sleep(WAIT_RETRY_MS, undefined, { ref: false });
    try {
      const state = (await container.inspect()).State;
      if (!state.Running) return state.ExitCode;
    } catch (error) {
      if (dockerStatus(error) === 404) return null;
    }
  }
  return null;
}

/** Docker reports a process killed by signal N as exit status 128+N (the shell convention); turn that back into the signal. */
export function exitStatusOf(statusCode: number | null): { code: number | null; signal: string | null } {
  if (statusCode !== null && statusCode > 128) {
    const name = Object.entries(constants.signals).find(([, number]) => number === statusCode - 128)?.[0];
    if (name) return { code: null, signal: name };
  }
  return { code: statusCode, signal: null };
}

/** The container's HEALTHCHECK status, or null without one (or when it is gone). */
export async function containerHealthOf(container: Docker.Container): Promise<ContainerHealth> {
  try {
    const status = (await container.inspect()).State.Health?.Status;
    return status === 'starting' || status === 'healthy' || status === 'unhealthy' ? status : null;
  } catch {
    return null;
  }
}
