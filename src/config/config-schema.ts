import { z } from 'zod';
import { analysisSchema } from './analysis-schema.js';
import { canaryStrategySchema, onInconclusive, postPromotionSchema } from './canary-schema.js';
import type { ConfigPath } from './config-issues.js';
import { dockerHost, dockerServiceFields, swarmServerSchema, swarmServiceFields } from './docker-schema.js';
import { kubernetesServiceFields } from './kubernetes-schema.js';
import { parseListenAddress } from './listen-address.js';
import { rollingStrategySchema } from './rolling-schema.js';
import { pathRouteServiceFields } from './path-routes-schema.js';
import { proxyServerFields, proxyServiceFields } from './proxy-schema.js';
import { tlsServerFields, tlsServiceFields } from './tls-schema.js';
import { haproxySchema, nginxSchema, routerKind } from './router-schema.js';
import { notificationsSchema } from './notifications-schema.js';
import { flagsSchema } from './flags-schema.js';
import {
  command,
  flag,
  HOST_NAME,
  hostName as host,
  inheritEnvList,
  listOf,
  mapWith,
  nonNegativeDuration,
  parsedBy,
  positiveDuration,
  strictMap,
  stringish,
  text,
  wholeNumber,
} from './schema-fields.js';
import { parseStatusRange } from './status-range.js';
import { parseByteSize } from './byte-size.js';

/**
 * The shape of cutover.yaml as written (snake_case keys, every key optional
 * where a default exists). Field values are checked and converted here
 * (durations to ms, addresses to host/port); defaults, paths and checks that
 * span fields live in config-resolve.ts and config-checks.ts. Every message
 * starts with "expected", and the loader appends what it got. The shared
 * field schemas are in schema-fields.ts; the canary and rolling strategies
 * and the analysis templates have files of their own.
 */

const directory = text('expected a directory path');

const listenAddress = parsedBy((value) => {
  const result = parseListenAddress(value);
  return result.ok ? { ok: true, value: result.address } : result;
});

const statusRange = parsedBy((value) => {
  const result = parseStatusRange(value);
  return result.ok ? { ok: true, value: result.range } : result;
});

const URL_PATH_EXPECTED = 'expected a path starting with "/", like /health';
const urlPath = z.string({ error: URL_PATH_EXPECTED }).regex(/^\/\S*$/, { error: URL_PATH_EXPECTED });

export { HOST_NAME };

export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ENV_NAME_EXPECTED = 'expected an environment variable name (letters, digits and _, not starting with a digit)';
const envName = z.string({ error: ENV_NAME_EXPECTED }).regex(ENV_NAME, { error: ENV_NAME_EXPECTED });
const envValue = stringish('expected a string (numbers and true/false are turned into strings)');

/** A fully qualified protobuf service name (letters, digits, _ and dots), short enough to code in one byte. */
const GRPC_SERVICE_NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,20}$/;

const healthSchema = strictMap(
  {
    type: z.enum(['http', 'tcp', 'command', 'grpc'], { error: 'expected http, tcp, command or grpc' }).optional(),
    path: urlPath.optional(),
    grpc_service: z
      .string({ error: 'expected a gRPC service name, like my.package.Shop' })
      .regex(GRPC_SERVICE_NAME, { error: 'expected a gRPC service name, like my.package.Shop' })
      .optional(),
    command: command.optional(),
    tcp: flag.optional(),
    expect_status: statusRange.optional(),
    interval: positiveDuration.optional(),
    timeout: positiveDuration.optional(),
    healthy_threshold: wholeNumber(1).optional(),
    unhealthy_threshold: wholeNumber(1).optional(),
    retries: wholeNumber(1).optional(),
    failure_threshold: wholeNumber(1).optional(),
    start_period: nonNegativeDuration.optional(),
    restart_after: z
      .union([wholeNumber(0), z.literal(false), z.null()], {
        error:
          'expected a whole number ≥ 0 of failed checks after the instance turned unhealthy, or false to never restart it',
      })
      .optional(),
  },
  'expected a map of health check settings, like { path: /health, interval: 2s }',
);

const smokeSchema = z.preprocess(
  mapWith('path'),
  strictMap(
    {
      path: urlPath,
      method: z.enum(['GET', 'HEAD', 'POST'], { error: 'expected GET, HEAD or POST' }).optional(),
      expect_status: statusRange.optional(),
      timeout: positiveDuration.optional(),
    },
    'expected a path like /health or a map with path, method, expect_status, timeout',
  ),
);

const STRATEGY_EXPECTED = 'expected "blue-green", "canary", "rolling" or "recreate"';

const blueGreenStrategySchema = strictMap(
  {
    type: z.literal('blue-green').optional(),
    auto_switch: flag.optional(),
    auto_cleanup: flag.optional(),
    approval: flag.optional(),
    scale_down_delay: nonNegativeDuration.optional(),
    timeout: positiveDuration.optional(),
    smoke: z.array(smokeSchema, { error: 'expected a list of smoke checks' }).optional(),
    post_promotion: postPromotionSchema.optional(),
    on_inconclusive: onInconclusive.optional(),
    pre_promotion: postPromotionSchema.optional(),
  },
  'expected "blue-green" or a map with type: blue-green',
);

/** Stop everything, then start the new release: downtime, so for development only. */
const recreateStrategySchema = strictMap(
  {
    type: z.literal('recreate'),
    timeout: positiveDuration.optional(),
  },
  'expected "recreate" or a map like { type: recreate, timeout: 2m }',
);

/** Chosen by `type` (blue-green when absent), so a key of another strategy is refused by name. */
const strategySchema = z.preprocess(
  mapWith('type'),
  z.discriminatedUnion(
    'type',
    [blueGreenStrategySchema, canaryStrategySchema, rollingStrategySchema, recreateStrategySchema],
    {
      error: (issue) =>
        issue.code === 'invalid_union'
          ? STRATEGY_EXPECTED
          : `${STRATEGY_EXPECTED}, or a map with type and its settings`,
    },
  ),
);

const POSTGRES_URL_EXPECTED =
  'expected a PostgreSQL URL like postgres://user:password@127.0.0.1:5432/app (or ${DATABASE_URL})';
const postgresUrl = z
  .string({ error: POSTGRES_URL_EXPECTED })
  .trim()
  .refine(
    (value) => {
      try {
        const url = new URL(value);
        return (url.protocol === 'postgres:' || url.protocol === 'postgresql:') && url.pathname.length > 1;
      } catch {
        return false;
      }
    },
    { error: POSTGRES_URL_EXPECTED },
  );

/** The service's PostgreSQL database: migrations run with its deploys, backups and backfills use it. */
const databaseSchema = strictMap(
  {
    url: postgresUrl,
    migrations: directory.optional(),
    lint: flag.optional(),
    backup: strictMap(
      { before_deploy: flag.optional(), keep: wholeNumber(1).optional() },
      'expected a map like { before_deploy: true, keep: 5 }',
    ).optional(),
    lock_timeout: positiveDuration.optional(),
    statement_timeout: positiveDuration.optional(),
    lock_retries: wholeNumber(0).optional(),
    wait_for_lock: nonNegativeDuration.optional(),
    auto_contract: flag.optional(),
    commands: strictMap(
      { expand: command.optional(), contract: command.optional() },
      'expected a map like { expand: "alembic upgrade head", contract: "alembic upgrade contract@head" }',
    ).optional(),
  },
  'expected a map with url and migrations, like { url: "${DATABASE_URL}", migrations: ./migrations }',
);

/** A command line (split into words at load, see command-words.ts) or the words themselves as a list. */
const serviceCommand = z.union(
  [
    command,
    z
      .array(z.string({ error: 'expected each word as a string' }), {
        error: 'expected a command line or a list of words',
      })
      .min(1, { error: 'expected at least the program to run' }),
  ],
  { error: 'expected a command line, like node server.js, or a list of words, like [node, server.js]' },
);

const serviceSchema = strictMap(
  {
    hosts: z.preprocess(listOf, z.array(host, { error: 'expected a list of host names' })).optional(),
    default: flag.optional(),
    runtime: z
      .enum(['process', 'docker', 'swarm', 'kubernetes'], {
        error: 'expected "process" or "docker" or "swarm" or "kubernetes"',
      })
      .optional(),
    command: serviceCommand.optional(),
    shell: flag.optional(),
    inherit_env: inheritEnvList.optional(),
    cwd: directory.optional(),
    env: z.record(envName, envValue, { error: 'expected a map of environment variables' }).optional(),
    env_file: z
      .preprocess(
        listOf,
        z.array(text('expected the path of a dotenv file'), { error: 'expected a list of file paths' }),
      )
      .optional(),
    secrets: z
      .preprocess(listOf, z.array(envName, { error: 'expected a list of environment variable names' }))
      .optional(),
    instances: wholeNumber(1).optional(),
    health: healthSchema.optional(),
    strategy: strategySchema.optional(),
    drain_timeout: positiveDuration.optional(),
    stop_grace_period: positiveDuration.optional(),
    rollback_limit: wholeNumber(1).optional(),
    maintenance_page: text('expected the path of an HTML file').optional(),
    critical: flag.optional(),
    protocol: z.enum(['http', 'grpc'], { error: 'expected http or grpc' }).optional(),
    database: databaseSchema.optional(),
    ...proxyServiceFields,
    ...tlsServiceFields,
    ...pathRouteServiceFields,
    ...dockerServiceFields,
    ...swarmServiceFields,
    ...kubernetesServiceFields,
  },
  'expected a map of service settings, like { command: node server.js }',
);

const serverSchema = strictMap(
  {
    proxy: listenAddress.optional(),
    admin: listenAddress.optional(),
    state_dir: directory.optional(),
    docker_host: dockerHost.optional(),
    swarm: swarmServerSchema.optional(),
    router: routerKind.optional(),
    nginx: nginxSchema.optional(),
    haproxy: haproxySchema.optional(),
    ...proxyServerFields,
    ...tlsServerFields,
    logs: strictMap(
      {
        // 4 KiB at least: a smaller bound would rotate on every line.
        max_size: parsedBy((value) => {
          const result = parseByteSize(value, 4096);
          return result.ok ? { ok: true, value: result.bytes } : result;
        }).optional(),
        keep: wholeNumber(0, 100).optional(),
      },
      'expected a map like { max_size: 10MiB, keep: 3 }',
    ).optional(),
  },
  'expected a map with proxy, https, admin, state_dir, docker_host, swarm, router, nginx, haproxy, trusted_proxies, max_connections, proxy_workers, client_timeouts, redirect_http and logs',
);

export const configSchema = strictMap(
  {
    server: serverSchema.optional(),
    services: z.record(z.string(), serviceSchema, {
      error: 'expected a map of services, like services: { web: { command: node server.js } }',
    }),
    analysis: analysisSchema.optional(),
    flags: flagsSchema.optional(),
    notifications: notificationsSchema.optional(),
    /** Names of environment variables whose `${NAME}` values are secrets, besides the secret-looking names. */
    secrets: z
      .preprocess(listOf, z.array(envName, { error: 'expected a list of environment variable names' }))
      .optional(),
  },
  'expected a map with server and services (and analysis templates, flags, notifications and secrets, if any)',
);

export type RawConfig = z.output<typeof configSchema>;
export type RawService = z.output<typeof serviceSchema>;
export type RawHealth = z.output<typeof healthSchema>;
export type RawStrategy = z.output<typeof strategySchema>;
export type RawBlueGreenStrategy = z.output<typeof blueGreenStrategySchema>;
export type RawRecreateStrategy = z.output<typeof recreateStrategySchema>;

/**
 * The keys allowed at a path of the document, for "did you mean" on an unknown
 * key. With the document, a strategy map offers the keys of its own `type`
 * only; without it, the keys of every kind.
 */
export function knownKeysAt(path: ConfigPath, document?: unknown): string[] {
  let schemas: z.ZodType[] = [configSchema];
  let value = document;
  for (const segment of path) {
    const at = value;
    schemas = schemas.flatMap((schema) => unwrap(schema, at)).flatMap((schema) => childOf(schema, segment));
    value = isMap(at) || Array.isArray(at) ? (at as Record<string | number, unknown>)[segment] : undefined;
  }
  const keys = schemas
    .flatMap((schema) => unwrap(schema, value))
    .flatMap((schema) => (schema instanceof z.ZodObject ? Object.keys(schema.shape) : []));
  return [...new Set(keys)];
}

/**
 * Which kinds accept a key refused at this path, like `type: canary` for
 * `steps` under a blue-green strategy, or `type: canary or rolling` for
 * `analysis`; null if none.
 */
export function kindAccepting(path: ConfigPath, key: string): string | null {
  let schemas: z.ZodType[] = [configSchema];
  for (const segment of path)
    schemas = schemas.flatMap((schema) => unwrap(schema)).flatMap((schema) => childOf(schema, segment));
  for (const union of schemas.flatMap(unwrapToUnions)) {
    const discriminator = union.def.discriminator;
    const kinds: string[] = [];
    for (const option of union.options as z.ZodType[]) {
      if (!(option instanceof z.ZodObject) || !(key in option.shape)) continue;
      const tag = (option.shape as Record<string, z.ZodType>)[discriminator];
      const literal = tag && unwrap(tag).find((schema): schema is z.ZodLiteral => schema instanceof z.ZodLiteral);
      if (literal) kinds.push(String(literal.value));
    }
    if (kinds.length > 0) return `${discriminator}: ${orList(kinds)}`;
  }
  return null;
}

/** `a`, `a or b`, `a, b or c`. */
function orList(items: readonly string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
}

function isMap(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function unwrapToUnions(schema: z.ZodType): z.ZodDiscriminatedUnion[] {
  if (schema instanceof z.ZodDiscriminatedUnion) return [schema];
  if (schema instanceof z.ZodPipe)
    return [...unwrapToUnions(schema.in as z.ZodType), ...unwrapToUnions(schema.out as z.ZodType)];
  if (schema instanceof z.ZodOptional) return unwrapToUnions(schema.unwrap() as z.ZodType);
  return [];
}

/** The object schemas a schema may stand for; a discriminated union offers the option the document's value selects, if any. */
function unwrap(schema: z.ZodType, value?: unknown): z.ZodType[] {
  if (schema instanceof z.ZodOptional || schema instanceof z.ZodDefault || schema instanceof z.ZodNullable) {
    return unwrap(schema.unwrap() as z.ZodType, value);
  }
  if (schema instanceof z.ZodPipe)
    return [...unwrap(schema.in as z.ZodType, value), ...unwrap(schema.out as z.ZodType, value)];
  if (schema instanceof z.ZodDiscriminatedUnion && isMap(value)) {
    const tag = value[schema.def.discriminator];
    const chosen = (schema.options as z.ZodType[]).filter(
      (option) =>
        option instanceof z.ZodObject &&
        (option.shape as Record<string, z.ZodType>)[schema.def.discriminator]?.safeParse(tag).success,
    );
    if (chosen.length > 0) return chosen.flatMap((option) => unwrap(option, value));
  }
  if (schema instanceof z.ZodUnion) return (schema.options as z.ZodType[]).flatMap((option) => unwrap(option, value));
  return [schema];
}

function childOf(schema: z.ZodType, segment: string | number): z.ZodType[] {
  if (schema instanceof z.ZodObject && typeof segment === 'string') {
    const child = (schema.shape as Record<string, z.ZodType>)[segment];
    return child ? [child] : [];
  }
  if (schema instanceof z.ZodRecord) return [schema.valueType as z.ZodType];
  if (schema instanceof z.ZodArray) return [schema.element as z.ZodType];
  return [];
}
