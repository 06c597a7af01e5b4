import { CONFIG_DEFAULTS } from './config-defaults.js';
import { canonicalJson } from './config-hash.js';
import type { CutoverConfig, ServiceConfig } from './types.js';

/**
 * What a reload of cutover.yaml changes, and what of it can take effect
 * while the server runs. Pure: `cutover reload` (and SIGHUP) compute it,
 * apply the live part, and say the rest.
 *
 * Live: new services, analysis templates, notification targets, and the
 * settings of existing services, which every deploy reads when it starts
 * (so they take effect with the next deploy, not on the release that
 * serves). Not live: what was wired when the server started — the `server`
 * section, flag environments, a service's traffic policy (the proxy got it
 * at start) and services on the Docker or Swarm runtime (their runtime
 * captured their settings). Those stay as they run until the server is
 * restarted, and the reload says so.
 */
export interface ConfigChanges {
  added: string[];
  /** Services in the running config that the file no longer has: kept until a restart (they may serve). */
  removed: string[];
  /** Existing services whose settings changed: taken by their next deploy. Field names as in ServiceConfig. */
  changed: { service: string; fields: string[] }[];
  analysis: { added: string[]; removed: string[]; changed: string[] };
  notifications: boolean;
  /** What stays as it runs until `cutover server` restarts, each with why. */
  restart: { path: string; why: string }[];
  /**
   * The service that took the requests for unknown hosts and no longer does, with none taking its place:
   * the only service of a file is the default without saying so, and adding a second one ends that.
   */
  defaultLost: string | null;
}

/** Nothing to apply and nothing to say. */
export function isUnchanged(changes: ConfigChanges): boolean {
  return (
    changes.added.length === 0 &&
    changes.removed.length === 0 &&
    changes.changed.length === 0 &&
    changes.analysis.added.length + changes.analysis.removed.length + changes.analysis.changed.length === 0 &&
    !changes.notifications &&
    changes.restart.length === 0 &&
    !changes.defaultLost
  );
}

const RESTART_RUNTIMES: ReadonlySet<ServiceConfig['runtime']> = new Set(['docker', 'swarm', 'kubernetes']);

export function diffConfigs(running: CutoverConfig, next: CutoverConfig): ConfigChanges {
  const changes: ConfigChanges = {
    added: [],
    removed: [],
    changed: [],
    analysis: { added: [], removed: [], changed: [] },
    notifications: !same(running.notifications, next.notifications),
    restart: [],
    defaultLost: lostDefault(running, next),
  };
  for (const key of Object.keys({ ...running.server, ...next.server }) as (keyof CutoverConfig['server'])[]) {
    if (!same(running.server[key], next.server[key]))
      changes.restart.push({ path: `server.${key}`, why: 'the server section is read when cutover server starts' });
  }
  if (!same(running.flags, next.flags))
    changes.restart.push({
      path: 'flags',
      why: 'flag environments, stale_after and require_approval are read when cutover server starts',
    });

  for (const [name, service] of Object.entries(next.services)) {
    const before = running.services[name];
    if (!before) {
      if (RESTART_RUNTIMES.has(service.runtime))
        changes.restart.push({
          path: `services.${name}`,
          why: `a ${service.runtime} service is set up with its runtime when cutover server starts`,
        });
      else changes.added.push(name);
      if (!same(service.traffic, CONFIG_DEFAULTS.traffic))
        changes.restart.push({
          path: `services.${name}.traffic`,
          why: "the router got its services' timeouts, instance_limits and passive_health at start; until a restart this service has the defaults",
        });
      continue;
    }
    const fields = (Object.keys({ ...before, ...service }) as (keyof ServiceConfig)[]).filter(
      (key) => !same(before[key], service[key]),
    );
    if (fields.length === 0) continue;
    if (RESTART_RUNTIMES.has(before.runtime) || RESTART_RUNTIMES.has(service.runtime)) {
      changes.restart.push({
        path: `services.${name}`,
        why: `${fields.join(', ')} of a ${before.runtime === 'process' ? service.runtime : before.runtime} service: its runtime holds its settings from the start of cutover server`,
      });
      continue;
    }
    // tls and hsts take effect with the reload itself (config-reload.ts swaps the certificates), not a deploy.
    const live = fields.filter((field) => field !== 'traffic' && field !== 'tls' && field !== 'hsts');
    if (fields.includes('traffic'))
      changes.restart.push({
        path: `services.${name}.traffic`,
        why: 'timeouts, instance_limits and passive_health are given to the router when cutover server starts',
      });
    if (live.length > 0) changes.changed.push({ service: name, fields: live });
  }
  for (const name of Object.keys(running.services)) {
    if (!next.services[name]) changes.removed.push(name);
  }
  for (const [name, template] of Object.entries(next.analysis)) {
    const before = running.analysis[name];
    if (!before) changes.analysis.added.push(name);
    else if (!same(before, template)) changes.analysis.changed.push(name);
  }
  for (const name of Object.keys(running.analysis)) {
    if (!next.analysis[name]) changes.analysis.removed.push(name);
  }
  return changes;
}

/**
 * The config a reload leaves running: the file's, except what needs a
 * restart, which keeps its running value, and removed services, which are
 * kept until a restart (cutover down stops one first).
 */
export function liveConfig(running: CutoverConfig, next: CutoverConfig, changes: ConfigChanges): CutoverConfig {
  const services: Record<string, ServiceConfig> = {};
  for (const [name, service] of Object.entries(next.services)) {
    const before = running.services[name];
    const held = changes.restart.some((entry) => entry.path === `services.${name}`);
    if (held) {
      if (before) services[name] = before;
      continue;
    }
    // The proxy keeps the traffic policy it started with: the config says what it applies, not what the file wants.
    services[name] = { ...service, traffic: before ? before.traffic : CONFIG_DEFAULTS.traffic };
  }
  for (const name of changes.removed) services[name] = running.services[name]!;
  return {
    ...next,
    server: running.server,
    flags: running.flags,
    services,
    secretValues: [...new Set([...(running.secretValues ?? []), ...(next.secretValues ?? [])])],
  };
}

/** One line per kind of change, for `cutover reload` and the server's log. */
export function describeChanges(changes: ConfigChanges): string[] {
  if (isUnchanged(changes)) return ['no change: the server already runs this file'];
  const lines: string[] = [];
  if (changes.added.length > 0) lines.push(`added (deployable now): ${changes.added.join(', ')}`);
  for (const { service, fields } of changes.changed)
    lines.push(
      `changed ${service}: ${fields.join(', ')} (the next deploy uses them; the serving release keeps its own)`,
    );
  const { analysis } = changes;
  if (analysis.added.length + analysis.changed.length + analysis.removed.length > 0)
    lines.push(
      `analysis templates: ${[
        ...analysis.added.map((name) => `+${name}`),
        ...analysis.changed.map((name) => `~${name}`),
        ...analysis.removed.map((name) => `-${name}`),
      ].join(' ')} (used by analyses that start from now on)`,
    );
  if (changes.notifications) lines.push('notification targets replaced');
  if (changes.removed.length > 0)
    lines.push(
      `not in the file any more: ${changes.removed.join(', ')} (kept until cutover server restarts; \`cutover down <service>\` stops one now)`,
    );
  for (const { path, why } of changes.restart) lines.push(`needs a restart of cutover server: ${path} (${why})`);
  if (changes.defaultLost)
    lines.push(
      `warning: ${changes.defaultLost} is no longer the default service (it was as the only service of the file): once it is routed again (its next deploy, a restart of cutover server) requests for a host no service names get 404; set \`default: true\` on ${changes.defaultLost} (or another service) to keep them`,
    );
  return lines;
}

function lostDefault(running: CutoverConfig, next: CutoverConfig): string | null {
  if (Object.values(next.services).some((service) => service.default)) return null;
  const was = Object.values(running.services).find((service) => service.default);
  return was !== undefined && next.services[was.name] !== undefined ? was.name : null;
}

/** Deep equality of plain config values, key order aside (the same canonical form as configHash). */
function same(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}
