import { createHash } from 'node:crypto';
import type { CutoverConfig } from '../../config/types.js';
import type { RuntimeLogger } from '../process/process-runtime.js';
import type { DockerRuntime } from './docker-runtime.js';

/**
 * The docker runtime of a config, or null when no service runs on docker: a
 * process-only setup never needs a daemon, and never loads the Docker client
 * (dockerode takes about a second to load, which would delay the routes
 * coming back after a crash). The daemon is `server.docker_host`, else
 * DOCKER_HOST, else /var/run/docker.sock.
 */
export async function dockerRuntimeForConfig(
  config: CutoverConfig,
  options: { logDir: string; logger?: RuntimeLogger; env: NodeJS.ProcessEnv },
): Promise<DockerRuntime | null> {
  const services = Object.values(config.services).filter((service) => service.runtime === 'docker');
  if (services.length === 0) return null;
  const [{ dockerClient, dockerHostOf }, { DockerRuntime }] = await Promise.all([
    import('./docker-client.js'),
    import('./docker-runtime.js'),
  ]);
  const daemonHost = dockerHostOf(config.server.dockerHost, options.env);
  return new DockerRuntime({
    docker: dockerClient(daemonHost),
    daemonHost,
    owner: ownerOf(config.server.stateDir),
    settingsFor: (service) => config.services[service]?.docker,
    logDir: options.logDir,
    ...(options.logger ? { logger: options.logger } : {}),
  });
}

/** A short stable id of the state directory: its containers carry it, so another cutover on the same daemon leaves them alone. */
export function ownerOf(stateDir: string): string {
  return createHash('sha256').update(stateDir).digest('hex').slice(0, 12);
}
