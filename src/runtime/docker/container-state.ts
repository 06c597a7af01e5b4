import { constants } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type Docker from 'dockerode';
import { dockerStatus } from './docker-client.js';

/** A container's own health as its HEALTHCHECK says; null when it has none. */
export type ContainerHealth = 'starting' | 'healthy' | 'unhealthy' | null;

/** Between tries to see a container's exit when the daemon dropped the wait request. */
const WAIT_RETRY_MS = 1_000;
/**
 * How often the state is looked at while a wait request is out: the wait is
 * not enough on its own (see waitForContainerExit), so an exit it misses is
 * seen within this long. One inspect per container per interval.
 */
const STATE_CHECK_MS = 2_000;

type WaitOutcome = { exited: true; code: number | null } | { exited: false; error: unknown };

/**
 * The exit status of a container (a docker instance, or a Swarm task's),
 * once it exits; null when it is gone without one (removed) or when
 * `givenUp` says to stop looking.
 *
 * The wait request alone is not enough: one sent before the daemon stopped
 * (a restart under live restore) neither answers nor fails once the daemon is
 * back (dockerd 26, docker-modem 5: seen with test/support's daemon), so a
 * container that exits after the restart was never noticed, and stopping it
 * sat out the grace period and the extra wait. So the state is looked at
 * every STATE_CHECK_MS while a wait is out; once the daemon answers again
 * after it did not, the old wait is dropped and a new one sent, so an exit is
 * seen at once again. A daemon that went away is not mistaken for a crash.
 */
export async function waitForContainerExit(
  container: Docker.Container,
  givenUp: () => boolean,
): Promise<number | null> {
  let waiting: { outcome: Promise<WaitOutcome>; abort: AbortController } | null = null;
  let daemonWasAway = false;
  const dropWait = (): void => {
    waiting?.abort.abort();
    waiting = null;
  };
  try {
    while (!givenUp()) {
      if (waiting === null) {
        const abort = new AbortController();
        const outcome = (container.wait({ abortSignal: abort.signal }) as Promise<{ StatusCode?: number }>).then(
          (result): WaitOutcome => ({
            exited: true,
            code: typeof result.StatusCode === 'number' ? result.StatusCode : null,
          }),
          (error: unknown): WaitOutcome => ({ exited: false, error }),
        );
        waiting = { outcome, abort };
      }
      const checkAfter = new AbortController();
      const outcome = await Promise.race([
        waiting.outcome,
        sleep(STATE_CHECK_MS, null, { ref: false, signal: checkAfter.signal }).catch(() => null),
      ]);
      checkAfter.abort();
      if (outcome !== null) {
        waiting = null;
        if (outcome.exited) return outcome.code;
        if (dockerStatus(outcome.error) === 404) return null;
        await sleep(WAIT_RETRY_MS, undefined, { ref: false });
      }
      try {
        const state = (await container.inspect()).State;
        if (!state.Running) return state.ExitCode;
        if (daemonWasAway) dropWait();
        daemonWasAway = false;
      } catch (error) {
        if (dockerStatus(error) === 404) return null;
        daemonWasAway = true;
      }
    }
    return null;
  } finally {
    dropWait();
  }
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
