import { makeIssue, type ConfigIssue, type ConfigPath, type SourceMap } from './config-issues.js';
import { DOCKER_ONLY_KEYS } from './docker-schema.js';

/**
 * Checks of a service's runtime settings that span fields: a docker service
 * needs an `image`; the docker keys mean nothing to a process service;
 * `container_port` only matters when the container has its own network
 * (bridge); with host networking the app listens on PORT. Raw values are
 * read defensively (the schema reports bad types).
 */
export function checkDockerService(service: Record<string, unknown>, path: ConfigPath, source: SourceMap | null): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (service.runtime === 'docker') {
    if (service.image === undefined) {
      issues.push(makeIssue(source, [...path, 'image'], 'required for runtime "docker": the image its containers run, like registry/app:${VERSION}'));
    }
    if (service.container_port !== undefined && service.network !== 'bridge') {
      issues.push(makeIssue(source, [...path, 'container_port'], 'only used with network: bridge; with host networking the app listens on $PORT, a free loopback port cutover picks'));
    }
    if (service.cwd !== undefined) {
      issues.push(makeIssue(source, [...path, 'cwd'], 'not used by runtime "docker" (the image sets the working directory)'));
    }
    return issues;
  }
  if (service.runtime === undefined || service.runtime === 'process') {
    for (const key of DOCKER_ONLY_KEYS) {
      if (service[key] !== undefined) issues.push(makeIssue(source, [...path, key], 'only used by runtime "docker"; add runtime: docker or remove it', 'key'));
    }
  }
  return issues;
}
