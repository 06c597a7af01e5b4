import Docker from 'dockerode';
import { CutoverError } from '../../core/errors.js';

/** Where the daemon listens when neither `server.docker_host` nor DOCKER_HOST says. */
export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';

/** `server.docker_host`, else DOCKER_HOST, else the default socket. */
export function dockerHostOf(configured: string | undefined, env: NodeJS.ProcessEnv): string {
  return configured ?? (env.DOCKER_HOST?.trim() || DEFAULT_DOCKER_HOST);
}

/** A client of the Docker Engine API at a DOCKER_HOST-style address. Connects lazily, on the first request. */
export function dockerClient(host: string): Docker {
  if (host.startsWith('unix://')) return new Docker({ socketPath: host.slice('unix://'.length) });
  if (host.startsWith('/')) return new Docker({ socketPath: host });
  const url = new URL(host.replace(/^tcp:/, 'http:'));
  return new Docker({
    host: url.hostname,
    port: Number(url.port),
    protocol: url.protocol === 'https:' ? 'https' : 'http',
  });
}

/** The daemon's own words for a failed API call (`json.message`), or the error's message. */
export function dockerMessage(error: unknown): string {
  const json = (error as { json?: unknown } | null)?.json;
  if (json && typeof json === 'object' && typeof (json as { message?: unknown }).message === 'string') {
    return (json as { message: string }).message;
  }
  return error instanceof Error ? error.message : String(error);
}

export function dockerStatus(error: unknown): number | null {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : null;
}

const UNREACHABLE = new Set(['ENOENT', 'ECONNREFUSED', 'EACCES', 'ECONNRESET', 'EHOSTUNREACH', 'ETIMEDOUT', 'EPIPE']);

/** True when the request never reached a daemon (no socket, refused, reset), as opposed to an answer from it. */
export function isDaemonUnreachable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && UNREACHABLE.has(code);
}

/**
 * INSTANCE_START_FAILED for a failed API call during a start: an unreachable
 * daemon is named with its address and what to do; an answer is quoted.
 */
export function startFailure(instanceId: string, what: string, error: unknown, daemonHost: string): CutoverError {
  if (isDaemonUnreachable(error)) {
    return new CutoverError(
      'INSTANCE_START_FAILED',
      `Cannot start ${instanceId}: the Docker daemon at ${daemonHost} cannot be reached (${dockerMessage(error)}).`,
      {
        hint: 'Start dockerd, or point server.docker_host (or DOCKER_HOST) at it; traffic was not moved.',
        cause: error,
      },
    );
  }
  return new CutoverError(
    'INSTANCE_START_FAILED',
    `Cannot start ${instanceId}: ${what} failed: ${dockerMessage(error)}`,
    {
      hint: 'Check image, command and resources in the service config and the daemon log; traffic was not moved.',
      cause: error,
    },
  );
}
