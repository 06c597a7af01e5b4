import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { CutoverError } from '../core/errors.js';
import { joinCommandWords } from './command-words.js';
import { CONFIG_DEFAULTS, defaultHosts } from './config-defaults.js';
import { healthKindOf } from './config-checks.js';
import type {
  RawBlueGreenStrategy,
  RawConfig,
  RawHealth,
  RawRecreateStrategy,
  RawService,
  RawStrategy,
} from './config-schema.js';
import { resolveAcme } from './acme-schema.js';
import { resolveAnalysis } from './analysis-resolve.js';
import { resolveCanaryStrategy } from './canary-resolve.js';
import { resolveKubernetesService } from './kubernetes-resolve.js';
import { resolveDockerService, resolveSwarmService } from './docker-resolve.js';
import { resolveNotifications } from './notifications-resolve.js';
import { resolveProxyServer, resolveUpstreamTraffic } from './proxy-resolve.js';
import { resolveRollingStrategy } from './rolling-resolve.js';
import type { RawNginx } from './router-schema.js';
import type {
  BlueGreenStrategyConfig,
  CutoverConfig,
  HealthCheckKind,
  HealthConfig,
  NginxRouterConfig,
  RecreateStrategyConfig,
  ServiceConfig,
  StrategyConfig,
} from './types.js';

/**
 * Turns a checked raw document into the typed config: defaults filled in,
 * paths made absolute against the config file's directory. Runs only after
 * the schema and the cross-field checks found nothing, so it trusts its input.
 */
export interface ResolveOptions {
  /** Directory relative paths are resolved against: the config file's, or the working directory. */
  baseDir: string;
  file: string | null;
}

export function resolveConfig(raw: RawConfig, options: ResolveOptions): CutoverConfig {
  const names = Object.keys(raw.services);
  const services: Record<string, ServiceConfig> = {};
  for (const name of names) {
    const service = raw.services[name] as RawService;
    services[name] = resolveService(name, service, { baseDir: options.baseDir, onlyService: names.length === 1 });
  }
  return {
    file: options.file,
    server: {
      proxy: raw.server?.proxy ?? { ...CONFIG_DEFAULTS.proxy },
      admin: raw.server?.admin ?? { ...CONFIG_DEFAULTS.admin },
      stateDir: resolvePath(options.baseDir, raw.server?.state_dir ?? CONFIG_DEFAULTS.stateDir),
      ...(raw.server?.docker_host === undefined ? {} : { dockerHost: raw.server.docker_host }),
      swarm: {
        nodeAddresses: Object.fromEntries(
          Object.entries(raw.server?.swarm?.node_addresses ?? {}).map(([node, address]) => [node, address.trim()]),
        ),
      },
      router: raw.server?.router ?? CONFIG_DEFAULTS.router,
      logs: {
        maxBytes: raw.server?.logs?.max_size ?? CONFIG_DEFAULTS.logs.maxBytes,
        keep: raw.server?.logs?.keep ?? CONFIG_DEFAULTS.logs.keep,
      },
      ...(raw.server?.router === 'nginx' && raw.server.nginx
        ? { nginx: resolveNginx(raw.server.nginx, options.baseDir) }
        : {}),
      ...(raw.server?.router === 'haproxy'
        ? {
            haproxy: {
              binary: raw.server.haproxy?.binary ?? CONFIG_DEFAULTS.haproxy.binary,
              threads: raw.server.haproxy?.threads ?? CONFIG_DEFAULTS.haproxy.threads,
              verifyTimeoutMs: raw.server.haproxy?.verify_timeout ?? CONFIG_DEFAULTS.haproxy.verifyTimeoutMs,
            },
          }
        : {}),
      ...resolveProxyServer(raw.server),
      ...(raw.server?.https === undefined ? {} : { https: raw.server.https }),
      acme: resolveAcme(raw.server?.acme, options.baseDir),
      // Redirecting is what a site served over HTTPS wants; without a TLS listener there is nothing to redirect to.
      redirectHttp: raw.server?.https !== undefined && (raw.server.redirect_http ?? true),
    },
    services,
    analysis: resolveAnalysis(raw.analysis ?? {}, options.baseDir),
    flags: {
      environments: raw.flags?.environments ?? [...CONFIG_DEFAULTS.flagEnvironments],
      client: { allowedOrigins: [...new Set(raw.flags?.client?.allowed_origins ?? [])] },
      staleAfterMs: raw.flags?.stale_after ?? CONFIG_DEFAULTS.flagStaleAfterMs,
      requireApproval: [...new Set(raw.flags?.require_approval ?? [])],
    },
    notifications: resolveNotifications(raw.notifications ?? []),
  };
}

function resolveNginx(raw: RawNginx, baseDir: string): NginxRouterConfig {
  return {
    mainConfig: resolvePath(baseDir, raw.main_config),
    includeFile: resolvePath(baseDir, raw.include_file),
    binary: raw.binary ?? CONFIG_DEFAULTS.nginx.binary,
    ...(raw.pid_file === undefined ? {} : { pidFile: resolvePath(baseDir, raw.pid_file) }),
    ...(raw.prefix === undefined ? {} : { prefix: resolvePath(baseDir, raw.prefix) }),
    verifyTimeoutMs: raw.verify_timeout ?? CONFIG_DEFAULTS.nginx.verifyTimeoutMs,
  };
}

function resolveService(
  name: string,
  raw: RawService,
  context: { baseDir: string; onlyService: boolean },
): ServiceConfig {
  const runtime = raw.runtime ?? 'process';
  if (raw.command === undefined && runtime === 'process')
    throw new CutoverError('INTERNAL', `services.${name}.command passed the checks without a value`);
  const instances = raw.instances ?? CONFIG_DEFAULTS.instances;
  return {
    name,
    // A service reached by its paths only has no host of its own.
    hosts: raw.hosts ?? (raw.routes === undefined ? defaultHosts(name) : []),
    // A lone service gets every request unless it says otherwise: the common single-app setup needs no `default`.
    default: raw.default ?? context.onlyService,
    runtime,
    command: Array.isArray(raw.command) ? joinCommandWords(raw.command) : (raw.command ?? ''),
    shell: raw.shell ?? false,
    inheritEnv: raw.inherit_env ?? [],
    ...(runtime === 'docker' || runtime === 'swarm' || runtime === 'kubernetes'
      ? { docker: resolveDockerService(raw) }
      : {}),
    ...(runtime === 'swarm' ? { swarm: resolveSwarmService(raw) } : {}),
    ...(runtime === 'kubernetes'
      ? { kubernetes: resolveKubernetesService(raw, (file) => resolvePath(context.baseDir, file)) }
      : {}),
    cwd: resolvePath(context.baseDir, raw.cwd ?? '.'),
    env: raw.env ?? {},
    envFiles: (raw.env_file ?? []).map((file) => resolvePath(context.baseDir, file)),
    secrets: raw.secrets ?? [],
    instances,
    health: resolveHealth(raw.health ?? {}, raw.inherit_env, raw.protocol),
    ...(raw.protocol === 'grpc' ? { protocol: 'grpc' as const } : {}),
    strategy: resolveStrategy(raw.strategy ?? {}, instances),
    drainTimeoutMs: raw.drain_timeout ?? CONFIG_DEFAULTS.drainTimeoutMs,
    stopGracePeriodMs: raw.stop_grace_period ?? CONFIG_DEFAULTS.stopGracePeriodMs,
    rollbackLimit: raw.rollback_limit ?? CONFIG_DEFAULTS.rollbackLimit,
    maintenancePage: raw.maintenance_page === undefined ? null : resolvePath(context.baseDir, raw.maintenance_page),
    critical: raw.critical ?? CONFIG_DEFAULTS.critical,
    traffic: resolveUpstreamTraffic(raw),
    ...(raw.routes === undefined
      ? {}
      : {
          paths: raw.routes.map((r) => ({ host: r.host, prefix: r.path_prefix, strip: r.strip_prefix ?? false })),
        }),
    ...(raw.max_body === undefined ? {} : { maxBodyBytes: raw.max_body }),
    ...(raw.tls === undefined
      ? {}
      : {
          tls:
            raw.tls === 'acme'
              ? { source: 'acme' as const, challenge: 'http-01' as const }
              : 'acme' in raw.tls
                ? { source: 'acme' as const, challenge: raw.tls.acme }
                : {
                    source: 'files' as const,
                    certFile: resolvePath(context.baseDir, raw.tls.cert),
                    keyFile: resolvePath(context.baseDir, raw.tls.key),
                  },
        }),
    ...(raw.hsts === undefined
      ? {}
      : { hsts: { maxAgeSec: raw.hsts.max_age, includeSubdomains: raw.hsts.include_subdomains ?? false } }),
    database:
      raw.database === undefined
        ? null
        : {
            url: raw.database.url,
            migrations:
              raw.database.migrations === undefined ? null : resolvePath(context.baseDir, raw.database.migrations),
            lint: raw.database.lint ?? CONFIG_DEFAULTS.database.lint,
            backupBeforeDeploy: raw.database.backup?.before_deploy ?? CONFIG_DEFAULTS.database.backupBeforeDeploy,
            backupsKept: raw.database.backup?.keep ?? CONFIG_DEFAULTS.database.backupsKept,
            lockTimeoutMs: raw.database.lock_timeout ?? CONFIG_DEFAULTS.database.lockTimeoutMs,
            statementTimeoutMs: raw.database.statement_timeout ?? CONFIG_DEFAULTS.database.statementTimeoutMs,
            lockRetries: raw.database.lock_retries ?? CONFIG_DEFAULTS.database.lockRetries,
            waitForLockMs: raw.database.wait_for_lock ?? CONFIG_DEFAULTS.database.waitForLockMs,
            autoContract: raw.database.auto_contract ?? CONFIG_DEFAULTS.database.autoContract,
            commands: {
              expand: raw.database.commands?.expand ?? null,
              contract: raw.database.commands?.contract ?? null,
            },
          },
  };
}

function resolveHealth(
  raw: NonNullable<RawHealth>,
  inheritEnv: string[] | undefined,
  protocol: 'http' | 'grpc' | undefined,
): HealthConfig {
  const defaults = CONFIG_DEFAULTS.health;
  return {
    check: resolveHealthCheck(raw, inheritEnv, protocol),
    intervalMs: raw.interval ?? defaults.intervalMs,
    timeoutMs: raw.timeout ?? defaults.timeoutMs,
    healthyThreshold: raw.healthy_threshold ?? defaults.healthyThreshold,
    unhealthyThreshold: raw.unhealthy_threshold ?? raw.retries ?? raw.failure_threshold ?? defaults.unhealthyThreshold,
    startPeriodMs: raw.start_period ?? defaults.startPeriodMs,
    restartAfter:
      raw.restart_after === false || raw.restart_after === null ? 0 : (raw.restart_after ?? defaults.restartAfter),
  };
}

function resolveHealthCheck(
  raw: NonNullable<RawHealth>,
  inheritEnv: string[] | undefined,
  protocol: 'http' | 'grpc' | undefined,
): HealthCheckKind {
  switch (healthKindOf(raw, protocol)) {
    case 'tcp':
      return { type: 'tcp' };
    case 'grpc':
      return { type: 'grpc', service: raw.grpc_service ?? '' };
    case 'command':
      return { type: 'command', command: raw.command ?? '', inheritEnv: inheritEnv ?? [] };
    case 'http':
      return {
        type: 'http',
        path: raw.path ?? CONFIG_DEFAULTS.health.path,
        expectStatus: statusRange(raw.expect_status, CONFIG_DEFAULTS.health.expectStatus),
      };
  }
}

function resolveStrategy(raw: NonNullable<RawStrategy>, instances: number): StrategyConfig {
  switch (raw.type) {
    case 'canary':
      return resolveCanaryStrategy(raw, instances);
    case 'rolling':
      return resolveRollingStrategy(raw);
    case 'recreate':
      return resolveRecreateStrategy(raw);
    case 'blue-green':
    case undefined:
      return resolveBlueGreenStrategy(raw);
  }
}

function resolveRecreateStrategy(raw: RawRecreateStrategy): RecreateStrategyConfig {
  return { type: 'recreate', deployTimeoutMs: raw.timeout ?? CONFIG_DEFAULTS.recreate.deployTimeoutMs };
}

function resolveBlueGreenStrategy(raw: RawBlueGreenStrategy): BlueGreenStrategyConfig {
  const defaults = CONFIG_DEFAULTS.strategy;
  return {
    type: 'blue-green',
    autoSwitch: raw.auto_switch ?? defaults.autoSwitch,
    ...(raw.approval ? { approval: true } : {}),
    autoCleanup: raw.auto_cleanup ?? defaults.autoCleanup,
    scaleDownDelayMs: raw.scale_down_delay ?? defaults.scaleDownDelayMs,
    deployTimeoutMs: raw.timeout ?? defaults.deployTimeoutMs,
    smoke: (raw.smoke ?? []).map((check) => ({
      path: check.path,
      method: check.method ?? CONFIG_DEFAULTS.smoke.method,
      expectStatus: statusRange(check.expect_status, CONFIG_DEFAULTS.smoke.expectStatus),
      timeoutMs: check.timeout ?? CONFIG_DEFAULTS.smoke.timeoutMs,
    })),
    postPromotion:
      raw.post_promotion === undefined
        ? null
        : {
            windowMs: raw.post_promotion.window ?? CONFIG_DEFAULTS.canary.postPromotionWindowMs,
            analysis: raw.post_promotion.analysis ?? [],
          },
    prePromotion:
      raw.pre_promotion === undefined
        ? null
        : {
            windowMs: raw.pre_promotion.window ?? CONFIG_DEFAULTS.prePromotionWindowMs,
            analysis: raw.pre_promotion.analysis ?? [],
          },
    onInconclusive: raw.on_inconclusive ?? CONFIG_DEFAULTS.onInconclusive,
  };
}

function statusRange(value: [number, number] | undefined, fallback: [number, number]): [number, number] {
  const [low, high] = value ?? fallback;
  return [low, high];
}

/** Absolute path; relative ones are taken from the config file's directory, `~/` from the home directory. */
function resolvePath(baseDir: string, path: string): string {
  if (path === '~' || path.startsWith('~/')) return resolve(homedir(), path.slice(2));
  return resolve(baseDir, path);
}
