import { CONFIG_DEFAULTS } from './config-defaults.js';
import type { RawService } from './config-schema.js';
import type { DockerServiceConfig, SwarmServiceConfig } from './types.js';

/** The docker settings of a `runtime: docker` service, defaulted. The checks made sure `image` is there. */
export function resolveDockerService(raw: RawService): DockerServiceConfig {
  return {
    image: raw.image ?? '',
    pull: raw.pull ?? CONFIG_DEFAULTS.docker.pull,
    network: raw.network ?? CONFIG_DEFAULTS.docker.network,
    containerPort: raw.container_port ?? null,
    cpus: raw.resources?.cpus ?? null,
    memoryBytes: raw.resources?.memory ?? null,
    labels: raw.labels ?? {},
  };
}

/** The swarm additions of a `runtime: swarm` service (its docker keys resolve as above). */
export function resolveSwarmService(raw: RawService): SwarmServiceConfig {
  return { placement: raw.placement ?? [] };
}
