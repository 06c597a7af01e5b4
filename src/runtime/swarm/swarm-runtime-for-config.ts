import type { CutoverConfig } from '../../config/types.js';
import { ownerOf } from '../docker/docker-runtime-for-config.js';
import type { RuntimeLogger } from '../process/process-runtime.js';
import type { SwarmRuntime } from './swarm-runtime.js';

/**
 * The swarm runtime of a config, or null when no service runs on swarm (no
 * dockerode loaded then, as with runtime: docker). The daemon is the same as
 * runtime: docker's (`server.docker_host`, else DOCKER_HOST, else the default
 * socket), and must be a Swarm manager.
 */
export async function swarmRuntimeForConfig(
  config: CutoverConfig,
  options: { logDir: string; logger?: RuntimeLogger; env: NodeJS.ProcessEnv },
): Promise<SwarmRuntime | null> {
  if (!Object.values(config.services).some((service) => service.runtime === 'swarm')) return null;
  const [{ dockerClient, dockerHostOf }, { SwarmRuntime }] = await Promise.all([
    import('../docker/docker-client.js'),
    import('./swarm-runtime.js'),
  ]);
  const daemonHost = dockerHostOf(config.server.dockerHost, options.env);
  const runtime = new SwarmRuntime({
    docker: dockerClient(daemonHost),
    daemonHost,
    owner: ownerOf(config.server.stateDir),
    serviceFor: (service) => config.services[service],
    logDir: options.logDir,
    nodeAddresses: config.server.swarm.nodeAddresses,
    ...(options.logger ? { logger: options.logger } : {}),
  });
  return runtime;
}
