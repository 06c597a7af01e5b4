import { makeIssue, type ConfigIssue, type ConfigPath, type SourceMap } from './config-issues.js';
import { DOCKER_ONLY_KEYS, SWARM_ONLY_KEYS } from './docker-schema.js';

/**
 * Checks of a service's runtime settings that span fields: a docker or swarm
 * service needs an `image`; the docker keys mean nothing to a process
 * service, and `placement` only means something to Swarm; `container_port`
 * only matters when the container has its own network (bridge); with host
 * networking the app listens on PORT. Swarm tasks always use the host network
 * (each task gets its own loopback port, see runtime/swarm/), so a swarm
 * service takes neither `network: bridge` nor `container_port`. Raw values
 * are read defensively (the schema reports bad types).
 */
export function checkDockerService(
  service: Record<string, unknown>,
  path: ConfigPath,
  source: SourceMap | null,
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const runtime = service.runtime;
  if (runtime === 'docker' || runtime === 'swarm' || runtime === 'kubernetes') {
    if (service.image === undefined) {
      issues.push(
        makeIssue(
          source,
          [...path, 'image'],
          `required for runtime "${runtime}": the image its containers run, like registry/app:\${VERSION}`,
        ),
      );
    }
    if (runtime === 'swarm') {
      if (service.network !== undefined && service.network !== 'host') {
        issues.push(
          makeIssue(
            source,
            [...path, 'network'],
            'runtime "swarm" runs every task on the host network (each on its own port); remove network or set it to host',
          ),
        );
      }
      if (service.container_port !== undefined) {
        issues.push(
          makeIssue(
            source,
            [...path, 'container_port'],
            'not used by runtime "swarm": its tasks share the host network and listen on $PORT',
          ),
        );
      }
    } else if (runtime === 'kubernetes') {
      for (const key of ['network', 'container_port'] as const) {
        if (service[key] !== undefined)
          issues.push(
            makeIssue(
              source,
              [...path, key],
              `not used by runtime "kubernetes": write it under kubernetes (kubernetes.${key}), where the pod network is chosen`,
              'key',
            ),
          );
      }
    } else if (service.container_port !== undefined && service.network !== 'bridge') {
      issues.push(
        makeIssue(
          source,
          [...path, 'container_port'],
          'only used with network: bridge; with host networking the app listens on $PORT, a free loopback port cutover picks',
        ),
      );
    }
    if (service.cwd !== undefined) {
      issues.push(
        makeIssue(source, [...path, 'cwd'], `not used by runtime "${runtime}" (the image sets the working directory)`),
      );
    }
  }
  if (runtime === undefined || runtime === 'process') {
    for (const key of DOCKER_ONLY_KEYS) {
      if (service[key] !== undefined)
        issues.push(
          makeIssue(
            source,
            [...path, key],
            'only used by runtime "docker", "swarm" or "kubernetes"; add runtime: docker or remove it',
            'key',
          ),
        );
    }
  }
  if (runtime !== 'swarm') {
    for (const key of SWARM_ONLY_KEYS) {
      if (service[key] !== undefined)
        issues.push(
          makeIssue(
            source,
            [...path, key],
            'only used by runtime "swarm" (placement constraints of its Swarm service); add runtime: swarm or remove it',
            'key',
          ),
        );
    }
  }
  return issues;
}
