import { checkAnalysis } from './analysis-checks.js';
import { checkCanaryStrategy, checkPostPromotion, templateFacts, type TemplateFacts } from './canary-checks.js';
import { defaultHosts, CONFIG_DEFAULTS } from './config-defaults.js';
import { checkDockerService } from './docker-checks.js';
import { checkKubernetesService } from './kubernetes-checks.js';
import { splitCommandWords } from './command-words.js';
import { makeIssue, type ConfigIssue, type ConfigPath, type SourceMap } from './config-issues.js';
import { formatListenAddress, parseListenAddress, sameSocket } from './listen-address.js';
import { checkRollingStrategy } from './rolling-checks.js';
import { checkGrpcServices } from './grpc-checks.js';
import { checkPathRoutes } from './path-route-checks.js';
import { checkRouterLiterals } from './router-literal-checks.js';
import { checkTls } from './tls-checks.js';
import type { ListenAddress } from './types.js';

/**
 * Checks that span fields: names, hosts shared between services, the default
 * service, a command for the process runtime, health check settings that
 * contradict each other (canary and rolling strategies and analysis
 * templates have theirs in canary-checks.ts, rolling-checks.ts and
 * analysis-checks.ts). They run on the raw document next to the schema (not
 * after it), so a file with a wrong type and a duplicate host reports both at
 * once; each check therefore looks at the raw values defensively and skips
 * what the schema already rejects.
 */

/** Service names end up in paths, URLs and instance ids, so they follow DNS label rules. */
export const SERVICE_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

type RawMap = Record<string, unknown>;

function isMap(value: unknown): value is RawMap {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function checkConfig(raw: unknown, source: SourceMap | null): ConfigIssue[] {
  if (!isMap(raw)) return [];
  const templates = templateFacts(raw.analysis);
  return [
    ...checkServer(raw.server, source),
    ...checkServices(raw.services, templates, source),
    ...checkAnalysis(raw.analysis, source),
    ...checkTls(raw, source),
    ...checkPathRoutes(raw, source),
    ...checkRouterLiterals(raw, source),
    ...checkGrpcServices(raw, source),
  ];
}

function checkServer(server: unknown, source: SourceMap | null): ConfigIssue[] {
  return [...checkRouter(server, source), ...checkAddresses(server, source)];
}

/** nginx needs to know which nginx.conf to test and which file is cutover's; the embedded proxy needs neither. */
function checkRouter(server: unknown, source: SourceMap | null): ConfigIssue[] {
  if (!isMap(server)) return [];
  if (server.router === 'nginx' && server.nginx === undefined) {
    return [
      makeIssue(
        source,
        ['server', 'router'],
        'nginx needs server.nginx: the nginx.conf to test and reload (main_config) and the file cutover writes (include_file)',
      ),
    ];
  }
  if (server.router !== 'nginx' && server.nginx !== undefined) {
    return [
      makeIssue(source, ['server', 'nginx'], 'only used with router: nginx; add router: nginx or remove it', 'key'),
    ];
  }
  if (server.router !== 'haproxy' && server.haproxy !== undefined) {
    return [
      makeIssue(
        source,
        ['server', 'haproxy'],
        'only used with router: haproxy; add router: haproxy or remove it',
        'key',
      ),
    ];
  }
  return [];
}

function checkAddresses(server: unknown, source: SourceMap | null): ConfigIssue[] {
  const address = (key: 'proxy' | 'admin'): ListenAddress | null => {
    const value = isMap(server) ? server[key] : undefined;
    if (value === undefined) return CONFIG_DEFAULTS[key];
    const parsed = parseListenAddress(value);
    return parsed.ok ? parsed.address : null;
  };
  const proxy = address('proxy');
  const admin = address('admin');
  if (!proxy || !admin || !sameSocket(proxy, admin)) return [];
  // Blame the address that was written: the other one may be a default.
  if (isMap(server) && server.admin !== undefined) {
    return [
      makeIssue(
        source,
        ['server', 'admin'],
        `the admin API needs its own port; ${formatListenAddress(admin)} clashes with server.proxy (${formatListenAddress(proxy)})`,
      ),
    ];
  }
  return [
    makeIssue(
      source,
      ['server', 'proxy'],
      `the proxy needs its own port; ${formatListenAddress(proxy)} clashes with server.admin (${formatListenAddress(admin)})`,
    ),
  ];
}

function checkServices(services: unknown, templates: TemplateFacts, source: SourceMap | null): ConfigIssue[] {
  if (!isMap(services)) return [];
  const names = Object.keys(services);
  if (names.length === 0)
    return [
      makeIssue(
        source,
        ['services'],
        'expected at least one service, like services: { web: { command: node server.js } }',
      ),
    ];

  const issues: ConfigIssue[] = [];
  const hostOwners = new Map<string, string>();
  let defaultService: string | null = null;
  for (const name of names) {
    const service = services[name];
    if (!SERVICE_NAME.test(name)) {
      issues.push(
        makeIssue(
          source,
          ['services', name],
          `expected a service name of lowercase letters, digits and hyphens (it is used in paths and URLs), got ${JSON.stringify(name)}`,
          'key',
        ),
      );
    }
    if (!isMap(service)) continue;
    const path = ['services', name];

    if (service.command === undefined && (service.runtime === undefined || service.runtime === 'process')) {
      issues.push(
        makeIssue(
          source,
          [...path, 'command'],
          'required for runtime "process": the command that starts one instance, like node server.js',
        ),
      );
    }
    issues.push(...checkServiceCommand(service, path, source));

    const isDefault = service.default === true || (service.default === undefined && names.length === 1);
    if (service.default === true) {
      if (defaultService === null) defaultService = name;
      else
        issues.push(
          makeIssue(
            source,
            [...path, 'default'],
            `only one service can be the default, and "${defaultService}" already is`,
          ),
        );
    }

    issues.push(...checkHosts(name, service, isDefault, hostOwners, source));
    issues.push(...checkDockerService(service, path, source));
    issues.push(...checkKubernetesService(service, path, source));
    if (isMap(service.health))
      issues.push(...checkHealth(service.health, service.protocol, [...path, 'health'], source));
    if (isMap(service.strategy) && service.strategy.type === 'canary') {
      issues.push(
        ...checkCanaryStrategy(service.strategy, [...path, 'strategy'], templates, source, service.instances),
      );
    }
    if (isMap(service.strategy) && (service.strategy.type === undefined || service.strategy.type === 'blue-green')) {
      issues.push(...checkPostPromotion(service.strategy, [...path, 'strategy'], templates, source));
      issues.push(...checkPostPromotion(service.strategy, [...path, 'strategy'], templates, source, 'pre_promotion'));
    }
    if (isMap(service.strategy) && service.strategy.type === 'rolling') {
      issues.push(
        ...checkRollingStrategy(service.strategy, [...path, 'strategy'], service.instances, templates, source),
      );
    }
  }
  return issues;
}

function checkHosts(
  name: string,
  service: RawMap,
  isDefault: boolean,
  owners: Map<string, string>,
  source: SourceMap | null,
): ConfigIssue[] {
  const path = ['services', name, 'hosts'];
  const written = typeof service.hosts === 'string' ? [service.hosts] : service.hosts;
  if (written !== undefined && !Array.isArray(written)) return [];
  const hosts = (written ?? defaultHosts(name)).map((host: unknown) =>
    typeof host === 'string' ? host.trim().toLowerCase() : null,
  );
  if (hosts.length === 0 && !isDefault) {
    return [
      makeIssue(
        source,
        path,
        'expected at least one host (or default: true, to receive requests for unknown hosts), got an empty list',
      ),
    ];
  }

  const issues: ConfigIssue[] = [];
  hosts.forEach((host, index) => {
    if (host === null) return;
    const owner = owners.get(host);
    if (owner === undefined) owners.set(host, name);
    else if (written === undefined) {
      issues.push(
        makeIssue(
          source,
          ['services', name],
          `the default host "${host}" is already used by service "${owner}"; set hosts for this service`,
          'key',
        ),
      );
    } else {
      const who = owner === name ? 'this service (listed twice)' : `service "${owner}"`;
      issues.push(
        makeIssue(
          source,
          Array.isArray(service.hosts) ? [...path, index] : path,
          `host "${host}" is already used by ${who}`,
        ),
      );
    }
  });
  return issues;
}

export type HealthKind = 'http' | 'tcp' | 'command' | 'grpc';

/**
 * Which check a health map asks for: `type`, else `tcp: true` or a
 * `command`, else the service's own protocol: grpc's standard health call
 * for a gRPC service, an HTTP GET for the others.
 */
export function healthKindOf(
  health: { type?: unknown; tcp?: unknown; command?: unknown },
  protocol: unknown = 'http',
): HealthKind {
  if (health.type === 'http' || health.type === 'tcp' || health.type === 'command' || health.type === 'grpc')
    return health.type;
  if (health.tcp === true) return 'tcp';
  if (health.command !== undefined) return 'command';
  return protocol === 'grpc' ? 'grpc' : 'http';
}

function checkHealth(health: RawMap, protocol: unknown, path: string[], source: SourceMap | null): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const kind = healthKindOf(health, protocol);
  const at = (key: string, message: string) => issues.push(makeIssue(source, [...path, key], message));

  if (health.type === undefined && health.tcp === true && health.command !== undefined) {
    at('tcp', 'choose one kind of check: tcp: true or a command, not both');
  } else if (health.type === kind && typeof health.tcp === 'boolean' && health.tcp !== (kind === 'tcp')) {
    at('tcp', `contradicts type: ${kind}`);
  }
  if (kind === 'command' && health.command === undefined)
    at('command', 'required when type is "command": a shell command that exits 0 when the instance is healthy');
  if (kind !== 'command' && health.command !== undefined && health.tcp !== true)
    at('command', `only used by command checks (this check is ${kind})`);
  for (const key of ['path', 'expect_status']) {
    if (kind !== 'http' && health[key] !== undefined) at(key, `only used by http checks (this check is ${kind})`);
  }
  if (kind !== 'grpc' && health.grpc_service !== undefined)
    at('grpc_service', `only used by grpc checks (this check is ${kind})`);
  // retries (Docker) and failure_threshold (Kubernetes) are other names for unhealthy_threshold.
  const names = ['unhealthy_threshold', 'retries', 'failure_threshold'].filter((key) => health[key] !== undefined);
  for (const key of names.slice(1)) at(key, `is another name for ${names[0]}; set only one of them`);
  return issues;
}

/**
 * A process service's command runs without a shell unless it says `shell: true`:
 * one that needs a shell to mean what it says is refused here, at load, rather
 * than run with its operators passed as arguments.
 */
function checkServiceCommand(service: RawMap, path: ConfigPath, source: SourceMap | null): ConfigIssue[] {
  const runtime = service.runtime ?? 'process';
  if (service.shell !== undefined && runtime !== 'process') {
    return [
      makeIssue(
        source,
        [...path, 'shell'],
        `only for runtime "process": a ${typeof runtime === 'string' ? runtime : 'container'} service's command is the container's command; write [sh, -c, "..."] for a shell there`,
      ),
    ];
  }
  if (runtime !== 'process' || service.shell === true || typeof service.command !== 'string') return [];
  const split = splitCommandWords(service.command);
  return split.ok ? [] : [makeIssue(source, [...path, 'command'], split.reason)];
}
