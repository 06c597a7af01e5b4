import { z } from 'zod';
import { parseDuration, type DurationRule } from './duration.js';
import { parseListenAddress } from './listen-address.js';
import { parseStatusRange } from './status-range.js';
import type { ConfigPath } from './config-issues.js';

/**
 * The shape of cutover.yaml as written (snake_case keys, every key optional
 * where a default exists). Field values are checked and converted here
 * (durations to ms, addresses to host/port); defaults, paths and checks that
 * span fields live in resolve-config.ts and config-checks.ts. Every message
 * starts with "expected", and the loader appends what it got.
 */

type Parsed<T> = { ok: true; value: T } | { ok: false; expected: string };

/** A field checked by one of the small parsers (duration, address, status range). */
function parsedBy<T>(parse: (value: unknown) => Parsed<T>) {
  return z.unknown().transform((value, ctx): T => {
    const result = parse(value);
    if (result.ok) return result.value;
    ctx.addIssue({ code: 'custom', message: result.expected, input: value });
    return z.NEVER;
  });
}

function strictMap<T extends z.ZodRawShape>(shape: T, expected: string) {
  return z.strictObject(shape, { error: (issue) => (issue.code === 'unrecognized_keys' ? undefined : expected) });
}

function wholeNumber(min: number) {
  const expected = `expected a whole number ≥ ${min}`;
  return z.number({ error: expected }).int({ error: expected }).min(min, { error: expected });
}

function text(expected: string) {
  return z.string({ error: expected }).trim().min(1, { error: expected });
}

function duration(rule: DurationRule) {
  return parsedBy((value) => {
    const result = parseDuration(value, rule);
    return result.ok ? { ok: true, value: result.ms } : result;
  });
}

const positiveDuration = duration({ allowZero: false });
const nonNegativeDuration = duration({ allowZero: true });
const flag = z.boolean({ error: 'expected true or false' });
const command = text('expected a shell command');
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

/** Host names as they arrive in the Host header, without the port; compared lowercased. */
export const HOST_NAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?)*$/;
const host = parsedBy((value) => {
  const normalized = typeof value === 'string' ? value.trim().toLowerCase() : null;
  return normalized !== null && HOST_NAME.test(normalized)
    ? { ok: true, value: normalized }
    : { ok: false, expected: 'expected a host name like web.example.com (no scheme, port or path)' };
});

export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ENV_NAME_EXPECTED = 'expected an environment variable name (letters, digits and _, not starting with a digit)';
const envName = z.string({ error: ENV_NAME_EXPECTED }).regex(ENV_NAME, { error: ENV_NAME_EXPECTED });
const envValue = z
  .union([z.string(), z.number(), z.boolean()], { error: 'expected a string (numbers and true/false are turned into strings)' })
  .transform((value) => String(value));

/** `x` is short for `[x]` / `{ key: x }`; the expanded form is what gets checked. */
const listOf = (value: unknown) => (typeof value === 'string' ? [value] : value);
const mapWith = (key: string) => (value: unknown) => (typeof value === 'string' ? { [key]: value } : value);

const healthSchema = strictMap(
  {
    type: z.enum(['http', 'tcp', 'command'], { error: 'expected http, tcp or command' }).optional(),
    path: urlPath.optional(),
    command: command.optional(),
    tcp: flag.optional(),
    expect_status: statusRange.optional(),
    interval: positiveDuration.optional(),
    timeout: positiveDuration.optional(),
    healthy_threshold: wholeNumber(1).optional(),
    unhealthy_threshold: wholeNumber(1).optional(),
    retries: wholeNumber(1).optional(),
    start_period: nonNegativeDuration.optional(),
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

const strategySchema = z.preprocess(
  mapWith('type'),
  strictMap(
    {
      type: z.literal('blue-green', { error: 'expected "blue-green" (the only strategy so far)' }).optional(),
      auto_switch: flag.optional(),
      auto_cleanup: flag.optional(),
      scale_down_delay: nonNegativeDuration.optional(),
      timeout: positiveDuration.optional(),
      smoke: z.array(smokeSchema, { error: 'expected a list of smoke checks' }).optional(),
    },
    'expected "blue-green" or a map with type: blue-green',
  ),
);

const serviceSchema = strictMap(
  {
    hosts: z.preprocess(listOf, z.array(host, { error: 'expected a list of host names' })).optional(),
    default: flag.optional(),
    runtime: z.literal('process', { error: 'expected "process" (the only runtime so far)' }).optional(),
    command: command.optional(),
    cwd: directory.optional(),
    env: z.record(envName, envValue, { error: 'expected a map of environment variables' }).optional(),
    secrets: z.preprocess(listOf, z.array(envName, { error: 'expected a list of environment variable names' })).optional(),
    instances: wholeNumber(1).optional(),
    health: healthSchema.optional(),
    strategy: strategySchema.optional(),
    drain_timeout: positiveDuration.optional(),
    stop_grace_period: positiveDuration.optional(),
    rollback_limit: wholeNumber(1).optional(),
  },
  'expected a map of service settings, like { command: node server.js }',
);

const serverSchema = strictMap(
  {
    proxy: listenAddress.optional(),
    admin: listenAddress.optional(),
    state_dir: directory.optional(),
  },
  'expected a map with proxy, admin and state_dir',
);

export const configSchema = strictMap(
  {
    server: serverSchema.optional(),
    services: z.record(z.string(), serviceSchema, { error: 'expected a map of services, like services: { web: { command: node server.js } }' }),
  },
  'expected a map with server and services',
);

export type RawConfig = z.output<typeof configSchema>;
export type RawService = z.output<typeof serviceSchema>;
export type RawHealth = z.output<typeof healthSchema>;
export type RawStrategy = z.output<typeof strategySchema>;

/** The keys allowed at a path of the document, for "did you mean" on an unknown key. */
export function knownKeysAt(path: ConfigPath): string[] {
  let schemas: z.ZodType[] = [configSchema];
  for (const segment of path) {
    schemas = schemas.flatMap(unwrap).flatMap((schema) => childOf(schema, segment));
  }
  const keys = schemas.flatMap(unwrap).flatMap((schema) => (schema instanceof z.ZodObject ? Object.keys(schema.shape) : []));
  return [...new Set(keys)];
}

function unwrap(schema: z.ZodType): z.ZodType[] {
  if (schema instanceof z.ZodOptional || schema instanceof z.ZodDefault || schema instanceof z.ZodNullable) {
    return unwrap(schema.unwrap() as z.ZodType);
  }
  if (schema instanceof z.ZodPipe) return [...unwrap(schema.in as z.ZodType), ...unwrap(schema.out as z.ZodType)];
  if (schema instanceof z.ZodUnion) return (schema.options as z.ZodType[]).flatMap(unwrap);
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
