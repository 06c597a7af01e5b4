import { composeDuration, composeNumber, isZeroDuration } from './compose-values.js';
import type { ImportEntry, ImportNote, ServiceContext } from './compose-import-types.js';
import { asMap, isMap, shown, type Map } from './compose-import-types.js';

/** deploy (replicas, update_config, resources, placement) and healthcheck as cutover's strategy and health. */

/**
 * A count or ratio at `path` as a number, or null (nothing written) when it
 * is absent or no number: that, and a default taken from a reference, are
 * noted, so a quoted or interpolated value is never dropped without a word.
 */
export function numberAt(
  value: unknown,
  path: string,
  notes: ImportNote[],
  kind: 'count' | 'ratio' = 'count',
): number | null {
  if (value === undefined) return null;
  const read = composeNumber(value);
  if (read === null || (kind === 'count' && !Number.isInteger(read.value))) {
    notes.push({
      path,
      reason: `${shown(value)} is not a ${kind === 'count' ? 'whole number' : 'number'} cutover can write here: set it by hand`,
    });
    return null;
  }
  if (read.defaultOf !== null)
    notes.push({
      path,
      reason: `${shown(value)}: written as its default ${read.value}; cutover.yaml takes a number here, so ${read.defaultOf} from the environment is not read`,
    });
  return read.value;
}

export function mapDeploy(deploy: Map, instances: number, at: string, ctx: ServiceContext): ImportEntry[] {
  const entries: ImportEntry[] = [];
  const note = (key: string, reason: string): void => void ctx.notes.push({ path: `${at}.deploy.${key}`, reason });
  const update = deploy.update_config;
  if (isMap(update)) {
    const strategy: Map = { type: 'rolling' };
    const parallelism = numberAt(update.parallelism, `${at}.deploy.update_config.parallelism`, ctx.notes);
    if (parallelism !== null)
      // Swarm's 0 means every task at once.
      strategy.parallelism = parallelism === 0 ? instances : Math.min(parallelism, instances);
    for (const key of ['delay', 'monitor'] as const) {
      if (update[key] === undefined) continue;
      const duration = composeDuration(update[key]);
      if (duration === null) note(`update_config.${key}`, `not a duration cutover reads: ${shown(update[key])}`);
      else strategy[key] = duration;
    }
    if (typeof update.failure_action === 'string') strategy.failure_action = update.failure_action;
    const ratio = numberAt(
      update.max_failure_ratio,
      `${at}.deploy.update_config.max_failure_ratio`,
      ctx.notes,
      'ratio',
    );
    if (ratio !== null) strategy.max_failure_ratio = ratio;
    if (typeof update.order === 'string') strategy.order = update.order;
    entries.push({
      key: 'strategy',
      value: strategy,
      comment: 'deploy.update_config: a rolling update, same key names (a batch at a time, in place)',
    });
  } else {
    entries.push({
      key: 'strategy',
      value: { type: 'blue-green', auto_switch: true },
      comment:
        'no update_config: the new release starts beside the old and takes the traffic once healthy (auto_switch: false waits for `cutover promote`)',
    });
  }
  const limits = asMap(asMap(deploy.resources).limits);
  for (const key of Object.keys(limits))
    if (key !== 'cpus' && key !== 'memory') note(`resources.limits.${key}`, 'cutover limits cpus and memory only');
  const resources: Map = {};
  if (limits.cpus !== undefined && Number(limits.cpus) > 0) resources.cpus = Number(limits.cpus);
  if (typeof limits.memory === 'string' || typeof limits.memory === 'number') resources.memory = limits.memory;
  if (Object.keys(resources).length > 0)
    entries.push({ key: 'resources', value: resources, comment: 'deploy.resources.limits' });
  const constraints = asMap(deploy.placement).constraints;
  if (Array.isArray(constraints) && constraints.length > 0) {
    if (ctx.options.runtime === 'swarm') entries.push({ key: 'placement', value: constraints.map(String) });
    else note('placement', 'placement constraints need --runtime swarm');
  }
  const reasons: Record<string, string> = {
    rollback_config: "cutover's failure_action: rollback undoes a failed batch, `cutover rollback` goes back a release",
    restart_policy: 'cutover restarts a crashed instance itself (health.restart_after and a crash back-off)',
    mode: 'global mode (one task per node) has no cutover equivalent: set instances',
    labels: 'service labels: give container labels under labels: by hand if you need them',
    endpoint_mode: "cutover's proxy balances between instances itself",
    'resources.reservations': 'reservations have no cutover equivalent (limits are mapped)',
  };
  for (const key of Object.keys(deploy)) {
    if (key === 'replicas' || key === 'update_config' || key === 'placement') continue;
    if (key === 'resources') {
      if (asMap(deploy.resources).reservations !== undefined)
        note('resources.reservations', reasons['resources.reservations'] as string);
      continue;
    }
    note(key, reasons[key] ?? 'no cutover equivalent');
  }
  for (const key of Object.keys(asMap(deploy.placement)))
    if (key !== 'constraints') note(`placement.${key}`, 'only constraints are passed to Swarm');
  return entries;
}

/** A Compose healthcheck test as the words it runs, or null when there is none. */
/** A Compose healthcheck test as the words it runs, or null when there is none. */
export function healthTest(test: unknown): string[] | null {
  if (typeof test === 'string') return ['CMD-SHELL', test];
  if (Array.isArray(test) && test.length > 0) return test.map(String);
  return null;
}

/** The path an HTTP probe (curl, wget, a URL) asks; null when the test is something else. */
export function httpPathOf(test: string[] | null): string | null {
  if (test === null || test[0] === 'NONE') return null;
  const line = test.slice(1).join(' ');
  const url = /\bhttps?:\/\/[^\s'"]+/.exec(line);
  if (!url) return null;
  try {
    // Variables only pick the host or port: Compose's `$$PORT` (the container's own PORT, the usual way in a
    // healthcheck), `${PORT}` and `${PORT:-3000}` each stand for one value, here a 0 that parses as either.
    const parsed = new URL(url[0].replace(/\$?\$(\{[^{}]*\}|[A-Za-z_][A-Za-z0-9_]*)/g, '0'));
    return `${parsed.pathname}${parsed.search}`;
  } catch {
    return null;
  }
}

export function mapHealth(value: unknown, at: string, notes: ImportNote[]): ImportEntry {
  const check = asMap(value);
  const note = (key: string, reason: string): void => void notes.push({ path: `${at}.healthcheck.${key}`, reason });
  const test = healthTest(check.test);
  if (value === undefined || check.disable === true || test?.[0] === 'NONE') {
    return {
      key: 'health',
      value: { type: 'tcp' },
      comment: 'Compose had no health check: tcp (the port opens); an HTTP path is better, e.g. { path: /health }',
    };
  }
  const health: Map = {};
  const path = httpPathOf(test);
  let comment = `healthcheck ${JSON.stringify(test?.slice(1).join(' ') ?? '')}`;
  if (path !== null) {
    health.type = 'http';
    health.path = path;
    comment += ': cutover asks the instance on its own address and port';
  } else {
    health.type = 'tcp';
    if (test !== null)
      note(
        'test',
        'it runs inside the container, and cutover checks from outside: tcp (the port opens) instead; give health a path (HTTP) or a command run on the server',
      );
  }
  for (const key of ['interval', 'timeout', 'start_period'] as const) {
    if (check[key] === undefined) continue;
    const duration = composeDuration(check[key]);
    if (duration === null) note(key, `not a duration cutover reads: ${shown(check[key])}`);
    // Docker reads an interval or timeout of 0 as "the default"; cutover refuses 0 there, so its own default stands.
    else if (key !== 'start_period' && isZeroDuration(duration))
      note(key, `${shown(check[key])} is Docker's default; cutover's default ${key} is used`);
    else health[key] = duration;
  }
  const retries = numberAt(check.retries, `${at}.healthcheck.retries`, notes);
  if (retries !== null && retries >= 1) health.retries = retries;
  if (check.start_interval !== undefined) note('start_interval', 'cutover checks at one interval from the start');
  return { key: 'health', value: health, comment };
}
