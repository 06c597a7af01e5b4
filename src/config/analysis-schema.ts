import { z } from 'zod';
import { parseJsonPath } from '../core/analysis/json-path.js';
import {
  command,
  httpUrl,
  inheritEnvList,
  listOf,
  mapWith,
  nonNegativeDuration,
  parsedBy,
  positiveDuration,
  stringish,
  strictMap,
  text,
  wholeNumber,
} from './schema-fields.js';

/**
 * The top-level `analysis:` section: named templates of metrics, each with
 * where its value comes from (a provider) and the conditions that judge it,
 * as Argo Rollouts' AnalysisTemplates. Strategies refer to templates by
 * name; config-checks.ts checks the references, the conditions (parsed at
 * load, so a typo fails `cutover server`, not a canary step) and that each
 * provider map names exactly one kind.
 */

export const BUILTIN_METRICS = [
  'error-rate',
  'latency-p50',
  'latency-p95',
  'latency-p99',
  'request-count',
  'baseline',
] as const;
export const PROVIDER_KINDS = ['builtin', 'prometheus', 'web', 'command'] as const;

const builtinMetric = z.enum(BUILTIN_METRICS, { error: `expected one of ${BUILTIN_METRICS.join(', ')}` });

/** RFC 9110 token: what a header (or cookie) name may be made of. */
export const HTTP_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HEADER_NAME_EXPECTED = 'expected a header name (letters, digits and -)';
export const headerName = z.string({ error: HEADER_NAME_EXPECTED }).regex(HTTP_TOKEN, { error: HEADER_NAME_EXPECTED });

const prometheusSchema = strictMap(
  {
    url: httpUrl,
    query: text('expected a PromQL query that returns one number, like sum(rate(http_errors_total[1m]))'),
    timeout: positiveDuration.optional(),
  },
  'expected a map with url, query and timeout, like { url: http://127.0.0.1:9090, query: "sum(up)" }',
);

const jsonPath = parsedBy((value) => {
  if (typeof value !== 'string') return { ok: false, expected: 'expected a JSON path like $.errors.rate' };
  const parsed = parseJsonPath(value);
  return parsed.ok ? { ok: true, value: value.trim() } : parsed;
});

/** A string is sent as written; a map or list is sent as JSON. */
const requestBody = parsedBy((value) => {
  if (value === null || typeof value === 'string') return { ok: true, value };
  if (typeof value === 'object') return { ok: true, value: JSON.stringify(value) };
  return { ok: false, expected: 'expected a request body: a string, or a map or list sent as JSON' };
});

const webSchema = strictMap(
  {
    url: httpUrl,
    method: z.enum(['GET', 'POST'], { error: 'expected GET or POST' }).optional(),
    headers: z
      .record(headerName, stringish('expected a header value'), { error: 'expected a map of request headers' })
      .optional(),
    body: requestBody.optional(),
    json_path: jsonPath.optional(),
    timeout: positiveDuration.optional(),
  },
  'expected a map with url, method, headers, body, json_path and timeout, like { url: http://127.0.0.1:8000/stats, json_path: $.errors.rate }',
);

const commandSchema = z.preprocess(
  mapWith('command'),
  strictMap(
    { command, timeout: positiveDuration.optional(), inherit_env: inheritEnvList.optional() },
    'expected a shell command, or a map with command, timeout and inherit_env, like { command: ./check.sh, timeout: 30s }',
  ),
);

const providerSchema = strictMap(
  {
    builtin: builtinMetric.optional(),
    prometheus: prometheusSchema.optional(),
    web: webSchema.optional(),
    command: commandSchema.optional(),
    // The long form of `builtin: <metric>`.
    type: z
      .literal('builtin', {
        error: 'expected "builtin"; write other providers as { prometheus: {...} }, { web: {...} } or { command: ... }',
      })
      .optional(),
    metric: builtinMetric.optional(),
  },
  'expected a provider map, like { builtin: error-rate }, { prometheus: { url, query } }, { web: { url, json_path } } or { command: ./check.sh }',
);

const condition = text('expected a condition on result, like result <= 0.05');

const metricSchema = strictMap(
  {
    name: text('expected a metric name'),
    provider: providerSchema.optional(),
    interval: positiveDuration.optional(),
    count: wholeNumber(1).optional(),
    initial_delay: nonNegativeDuration.optional(),
    success_condition: condition.optional(),
    failure_condition: condition.optional(),
    failure_limit: wholeNumber(0).optional(),
    inconclusive_limit: wholeNumber(0).optional(),
    consecutive_error_limit: wholeNumber(0).optional(),
  },
  'expected a metric map, like { name: errors, provider: { builtin: error-rate }, failure_condition: result > 0.05 }',
);

/** Longest `load.path`: a request target, not a document. */
export const MAX_LOAD_PATH_LENGTH = 2048;
/** Highest `load.rate` (requests per second): enough evidence for a verdict, never a load test. */
export const MAX_LOAD_RATE = 50;
/** Longest `load.timeout`: a slower answer is a failed request. */
export const MAX_LOAD_TIMEOUT_MS = 30_000;

const LOAD_PATH_EXPECTED =
  'expected a path starting with "/" of visible ASCII (no spaces, CR or LF; percent-encode the rest), like /api/ping';
const loadPath = z
  .string({ error: LOAD_PATH_EXPECTED })
  // One "/" first: "//host" would read as another authority to some servers.
  .regex(/^\/(?!\/)[\x21-\x7e]*$/, { error: LOAD_PATH_EXPECTED })
  .refine((value) => !value.includes('#'), { error: 'expected a path without a #fragment' })
  .refine((value) => value.length <= MAX_LOAD_PATH_LENGTH, {
    error: `expected a path of at most ${MAX_LOAD_PATH_LENGTH} characters`,
  });

const REAL_RATE_EXPECTED = 'expected requests per second of real traffic (a number > 0), like 5 or 0.5';

/**
 * `load:` of a template: synthetic requests the analysis sends straight to
 * the new release's instances while real traffic to it is thinner than
 * `only_below` req/s, so a quiet service gets a verdict instead of "no
 * requests yet". Bounded on purpose (rate, timeout, path shape): it is
 * evidence for the analysis, not a load test.
 */
const loadSchema = strictMap(
  {
    rate: wholeNumber(1, MAX_LOAD_RATE),
    path: loadPath,
    only_below: z
      .number({ error: REAL_RATE_EXPECTED })
      .positive({ error: REAL_RATE_EXPECTED })
      .max(100_000, { error: REAL_RATE_EXPECTED })
      .optional(),
    method: z.enum(['GET', 'HEAD'], { error: 'expected GET or HEAD' }).optional(),
    timeout: positiveDuration
      .refine((ms) => ms <= MAX_LOAD_TIMEOUT_MS, {
        error: `expected a timeout of at most ${MAX_LOAD_TIMEOUT_MS / 1000}s`,
      })
      .optional(),
  },
  'expected a map with rate and path (and only_below, method, timeout), like { rate: 5, path: /api/ping }',
);

const templateSchema = strictMap(
  {
    metrics: z.array(metricSchema, { error: 'expected a list of metrics' }),
    load: loadSchema.optional(),
  },
  'expected a template map with metrics (and load), like { metrics: [{ name: errors, provider: { builtin: error-rate }, failure_condition: result > 0.05 }] }',
);

/** `analysis:` with nothing under it (every template commented out) is no templates. */
export const analysisSchema = z.preprocess(
  (value) => (value === null ? {} : value),
  z.record(z.string(), templateSchema, {
    error: 'expected a map of analysis templates, like analysis: { error-rate: { metrics: [...] } }',
  }),
);

/** A list of template names (a single name is short for a list of one). */
export const templateNames = z.preprocess(
  listOf,
  z.array(text('expected the name of an analysis template'), { error: 'expected a list of analysis template names' }),
);

export type RawAnalysis = z.output<typeof analysisSchema>;
export type RawTemplate = z.output<typeof templateSchema>;
export type RawLoad = z.output<typeof loadSchema>;
export type RawMetric = z.output<typeof metricSchema>;
export type RawProvider = z.output<typeof providerSchema>;
