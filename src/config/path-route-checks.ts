import { CONFIG_DEFAULTS } from './config-defaults.js';
import { makeIssue, type ConfigIssue, type SourceMap } from './config-issues.js';
import { NGINX_PATH_PREFIX } from './router-literals.js';

/**
 * Checks across services' path routes: a host and prefix belong to one
 * service; nginx takes only prefixes it matches as the proxy does
 * (router-literals.ts); and `routes` and `max_body` are answered by the embedded proxy
 * and nginx (the HAProxy router does not render them yet), so HAProxy
 * refuses them at load rather than ignore them.
 */

type RawMap = Record<string, unknown>;

function isMap(value: unknown): value is RawMap {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function checkPathRoutes(raw: RawMap, source: SourceMap | null): ConfigIssue[] {
  const server = isMap(raw.server) ? raw.server : {};
  const services = isMap(raw.services) ? raw.services : {};
  const router = typeof server.router === 'string' ? server.router : CONFIG_DEFAULTS.router;
  const issues: ConfigIssue[] = [];
  const owners = new Map<string, string>();
  for (const [name, service] of Object.entries(services)) {
    if (!isMap(service)) continue;
    for (const key of ['routes', 'max_body'] as const) {
      if (service[key] !== undefined && router === 'haproxy')
        issues.push(
          makeIssue(
            source,
            ['services', name, key],
            `the haproxy router does not answer ${key} yet: use the embedded proxy (router: proxy) or nginx (router: nginx), or remove it`,
            'key',
          ),
        );
    }
    const routes = Array.isArray(service.routes) ? service.routes : isMap(service.routes) ? [service.routes] : [];
    routes.forEach((route: unknown, index) => {
      if (!isMap(route) || typeof route.host !== 'string' || typeof route.path_prefix !== 'string') return;
      // nginx would refuse it at the first deploy, with the service's name only.
      if (router === 'nginx' && !NGINX_PATH_PREFIX.test(route.path_prefix))
        issues.push(
          makeIssue(
            source,
            ['services', name, 'routes', index, 'path_prefix'],
            'the nginx router matches decoded paths: write the prefix without %-escapes, $ or ; (letters, digits, / and ._~-)',
          ),
        );
      const key = `${route.host.trim().toLowerCase()}${route.path_prefix}`;
      const owner = owners.get(key);
      if (owner !== undefined && owner !== name)
        issues.push(
          makeIssue(
            source,
            ['services', name, 'routes', index],
            `${key} is already routed to service '${owner}': give each host and path prefix to one service`,
          ),
        );
      else owners.set(key, name);
    });
  }
  return issues;
}
