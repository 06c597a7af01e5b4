import type { Slot } from '../core/slot.js';
import { CutoverError } from '../core/errors.js';
import { BUCKET_COUNT, bucketOf } from '../core/sticky-bucket.js';
import type { CanaryRoute, RouteTarget, ServiceRoute, Upstream } from './index.js';
import { MaintenanceEntry } from './maintenance-entry.js';
import { needsNormalizing, normalizedPath } from './request-path.js';

/**
 * The routing decision as data: host → service → active target → upstream.
 *
 * A table is built once per route change and never modified afterwards, so a
 * switch is one reference swap and a request routed by the old table keeps the
 * target it picked. The one mutable bit is each target's round-robin cursor.
 *
 * `lookup` and `pick` run on every proxied request: they do not allocate.
 * Adapters attach their own per-target data (pools, counters) with `bind`, so
 * the hot path reaches them without a second map lookup.
 *
 * During a canary a service has a second target: its `CanaryEntry` holds the
 * rules prepared once per route change (match rules, stickiness, the bucket
 * threshold); the adapter reads the request and asks it where a client goes.
 *
 * Pure: no I/O, no timers.
 */
export class TargetEntry<B> {
  readonly service: string;
  readonly releaseId: string;
  readonly version: string;
  readonly slot: Slot;
  readonly upstreams: readonly Upstream[];
  readonly binding: B;
  private readonly ids: readonly string[];
  private cursor = 0;

  constructor(service: string, target: RouteTarget, binding: B) {
    this.service = service;
    this.releaseId = target.releaseId;
    this.version = target.version;
    this.slot = target.slot;
    this.upstreams = target.upstreams.slice();
    this.ids = this.upstreams.map((u) => u.id);
    this.binding = binding;
  }

  /** Index of the next healthy upstream in round-robin order, or -1 when none is healthy. */
  pick(unhealthy: ReadonlySet<string>): number {
    const n = this.ids.length;
    let index = this.cursor;
    for (let tries = 0; tries < n; tries++) {
      if (index >= n) index = 0;
      const candidate = index++;
      if (unhealthy.size === 0 || !unhealthy.has(this.ids[candidate] as string)) {
        this.cursor = index;
        return candidate;
      }
    }
    return -1;
  }

  /** True when at least one upstream is in rotation (without moving the round-robin cursor). */
  hasHealthyUpstream(unhealthy: ReadonlySet<string>): boolean {
    const ids = this.ids;
    for (let i = 0; i < ids.length; i++) {
      if (!unhealthy.has(ids[i] as string)) return true;
    }
    return false;
  }

  /**
   * For a retry: the next healthy upstream after `current`, going round from
   * `first` (the one the request was sent to first) without reaching it again,
   * so each upstream is tried at most once. -1 when every one has been tried.
   */
  nextAfter(first: number, current: number, unhealthy: ReadonlySet<string>): number {
    const n = this.ids.length;
    for (let index = (current + 1) % n; index !== first; index = (index + 1) % n) {
      if (!unhealthy.has(this.ids[index] as string)) return index;
    }
    return -1;
  }
}

/** A header or cookie a request must carry, with this exact value, to reach the canary at any weight. */
export interface CanaryMatchRule {
  /** Lower-case header name, or the cookie name as written (cookie names are case-sensitive). */
  readonly name: string;
  readonly value: string;
}

/**
 * The canary side of a service: its target, and who goes there. A client is
 * on the canary when a match rule hits, or by weight: 0 none, 100 all, else
 * when the sticky bucket of its key (`bucketOf(key, service)`) is below
 * `weight * 100`, so a rising weight only adds clients.
 */
export class CanaryEntry<B> {
  readonly target: TargetEntry<B>;
  /** Percent of clients, 0-100. */
  readonly weight: number;
  readonly stickyBy: 'cookie' | 'header' | 'ip';
  /** The cookie name as written, or the lower-case header name; empty for `ip`. */
  readonly stickyName: string;
  readonly headerRules: readonly CanaryMatchRule[];
  readonly cookieRules: readonly CanaryMatchRule[];
  /** True when the sticky key or a rule needs the request's headers (the adapter can skip reading them otherwise). */
  readonly readsHeaders: boolean;
  private readonly salt: string;
  private readonly threshold: number;

  constructor(service: string, canary: CanaryRoute, target: TargetEntry<B>) {
    this.target = target;
    this.weight = canary.weight;
    this.stickyBy = canary.stickiness.by;
    this.stickyName =
      canary.stickiness.by === 'header'
        ? canary.stickiness.name.toLowerCase()
        : canary.stickiness.by === 'cookie'
          ? canary.stickiness.name
          : '';
    const headerRules: CanaryMatchRule[] = [];
    const cookieRules: CanaryMatchRule[] = [];
    for (const rule of canary.match) {
      if (rule.header !== undefined) headerRules.push({ name: rule.header.toLowerCase(), value: rule.value });
      if (rule.cookie !== undefined) cookieRules.push({ name: rule.cookie, value: rule.value });
    }
    this.headerRules = headerRules;
    this.cookieRules = cookieRules;
    this.readsHeaders =
      headerRules.length > 0 || cookieRules.length > 0 || (!this.byWeightAlone && this.stickyBy !== 'ip');
    this.salt = service;
    this.threshold = canary.weight * (BUCKET_COUNT / 100);
  }

  /** True at weight 0 or 100, where no client key is needed: `admitsAll` says which. */
  get byWeightAlone(): boolean {
    return this.weight <= 0 || this.weight >= 100;
  }

  get admitsAll(): boolean {
    return this.weight >= 100;
  }

  /** Whether the client with this sticky key is on the canary at the current weight (match rules aside). */
  admits(key: string): boolean {
    if (this.weight <= 0) return false;
    if (this.weight >= 100) return true;
    return bucketOf(key, this.salt) < this.threshold;
  }
}

export class ServiceEntry<B> {
  readonly service: string;
  readonly isDefault: boolean;
  /** Normalised hosts (lower case, no port). */
  readonly hosts: readonly string[];
  /** `hosts` and the hosts of its path routes: every name it answers (for redirects and certificates). */
  readonly servedHosts: readonly string[];
  /** Null while the service has no release routed: requests get 503. */
  readonly target: TargetEntry<B> | null;
  /** The second release during a canary, null otherwise (the hot path tests this one field). */
  readonly canary: CanaryEntry<B> | null;
  /** Set while the service is in maintenance: clients it does not allow get the maintenance answer. */
  readonly maintenance: MaintenanceEntry | null;
  /** Requests with a bigger body get 413 (`maxBodyBytes`); null: no limit. */
  readonly maxBodyBytes: number | null;
  /** True when the service's hosts are served over HTTPS (the route has a certificate). */
  readonly tls: boolean;
  /**
   * The served hosts a certificate covers: only these are redirected to HTTPS. A host whose ACME order
   * has not succeeded yet is served in the clear rather than sent to a handshake that would fail.
   */
  readonly tlsHosts: readonly string[];
  /** The Strict-Transport-Security value of its HTTPS answers, or null. */
  readonly hsts: string | null;
  /** True for a gRPC service (`protocol: grpc`): its calls are HTTP/2 streams both ways. */
  readonly grpc: boolean;
  /** The route this entry was built from; a rebuild reuses the entry while the route object is the same. */
  readonly route: ServiceRoute;

  constructor(route: ServiceRoute, target: TargetEntry<B> | null, canary: CanaryEntry<B> | null = null) {
    this.service = route.service;
    this.isDefault = route.default;
    this.hosts = route.hosts.map(normalizeHost);
    this.servedHosts = servedHostsOf(route);
    this.target = target;
    this.canary = canary;
    this.maintenance = route.maintenance ? new MaintenanceEntry(route.maintenance) : null;
    this.maxBodyBytes = route.maxBodyBytes ?? null;
    this.tls = route.tls !== undefined && route.tls !== null;
    const covered = new Set((route.tls?.certificates ?? []).flatMap((c) => c.hosts.map(normalizeHost)));
    this.tlsHosts = this.servedHosts.filter((host) => covered.has(host));
    this.hsts = route.tls?.hsts ?? null;
    this.grpc = route.protocol === 'grpc';
    this.route = route;
  }

  /** True when `releaseId` receives new requests through this entry, as the stable or the canary release. */
  routesRelease(releaseId: string): boolean {
    return this.target?.releaseId === releaseId || this.canary?.target.releaseId === releaseId;
  }
}

export type BindTarget<B> = (service: string, target: RouteTarget) => B;

/** A service's share of a host: requests whose path starts with `prefix` (a whole segment). */
interface PrefixEntry<B> {
  /** Normalised as a request's path is (routePrefix), so `/caf%C3%A9` matches `/caf%c3%a9` too. */
  prefix: string;
  strip: boolean;
  entry: ServiceEntry<B>;
}

export class RouteTable<B> {
  readonly services: ReadonlyMap<string, ServiceEntry<B>>;
  readonly defaultService: ServiceEntry<B> | null;
  /**
   * Set by `lookup` when the request matched a path route that strips its prefix: the prefix's length,
   * else 0. Read synchronously right after the call (it keeps the hot path free of allocations).
   */
  stripLength = 0;
  /**
   * Set by `lookup` with `stripLength`: the normalised path the request matched its path route by, when that
   * differs from the target as written (request-path.ts), else null. A stripped prefix is cut from this one.
   */
  routedPath: string | null = null;
  /**
   * Set by `lookup` when it returned undefined because the target's path cannot be matched against the host's
   * path routes (it climbs above `/`, or has a broken escape): the request gets 400, not 404 or the default.
   */
  badPath = false;
  private readonly byHost: ReadonlyMap<string, ServiceEntry<B>>;
  /** Hosts shared by path, each with its prefixes longest first; empty in the common one-service-per-host setup. */
  private readonly byPrefix: ReadonlyMap<string, readonly PrefixEntry<B>[]>;
  /** The same hosts as `byHost`, as parallel arrays for the allocation-free scan of `lookup`. */
  private readonly hostNames: readonly string[];
  private readonly hostEntries: readonly ServiceEntry<B>[];

  /** Entries must not conflict (see `buildRouteTable`, which checks). */
  constructor(entries: readonly ServiceEntry<B>[]) {
    const services = new Map<string, ServiceEntry<B>>();
    const byHost = new Map<string, ServiceEntry<B>>();
    const byPrefix = new Map<string, PrefixEntry<B>[]>();
    let defaultService: ServiceEntry<B> | null = null;
    for (const entry of entries) {
      services.set(entry.service, entry);
      if (entry.isDefault) defaultService = entry;
      for (const host of entry.hosts) byHost.set(host, entry);
      for (const path of entry.route.paths ?? []) {
        const host = normalizeHost(path.host);
        const list = byPrefix.get(host) ?? [];
        list.push({ prefix: routePrefix(path.prefix), strip: path.strip, entry });
        byPrefix.set(host, list);
      }
    }
    for (const list of byPrefix.values()) list.sort((a, b) => b.prefix.length - a.prefix.length);
    this.byPrefix = byPrefix;
    this.services = services;
    this.byHost = byHost;
    this.hostNames = [...byHost.keys()];
    this.hostEntries = [...byHost.values()];
    this.defaultService = defaultService;
  }

  /**
   * The service for a Host header value: matched case-insensitively with the
   * port ignored, else the default service, else undefined.
   */
  lookup(hostHeader: string | undefined, url?: string): ServiceEntry<B> | undefined {
    this.stripLength = 0;
    this.routedPath = null;
    this.badPath = false;
    if (hostHeader === undefined || hostHeader.length === 0) return this.defaultService ?? undefined;
    if (this.byPrefix.size > 0 && url !== undefined) {
      const prefixes = this.byPrefix.get(normalizeHost(hostHeader));
      if (prefixes !== undefined) {
        // Only a path that normalising changes pays for it (request-path.ts); the rest is compared as written.
        let path = url;
        let normalized: string | null = null;
        if (url.charCodeAt(0) === 0x2f && needsNormalizing(url)) {
          normalized = normalizedPath(url);
          if (normalized === null) {
            this.badPath = true;
            return undefined;
          }
          path = normalized;
        }
        for (const candidate of prefixes) {
          if (!pathHasPrefix(path, candidate.prefix, normalized !== null)) continue;
          if (candidate.strip && candidate.prefix !== '/') {
            this.stripLength = candidate.prefix.length;
            this.routedPath = normalized;
          }
          return candidate.entry;
        }
      }
    }
    // Fast path: the header is exactly a configured host (lower case, no port).
    const exact = this.byHost.get(hostHeader);
    if (exact !== undefined) return exact;
    // Otherwise compare without building a normalised copy of the header.
    const end = hostNameEnd(hostHeader);
    const names = this.hostNames;
    for (let i = 0; i < names.length; i++) {
      const name = names[i] as string;
      if (name.length === end && equalsIgnoringCase(hostHeader, name, end)) return this.hostEntries[i];
    }
    return this.defaultService ?? undefined;
  }
}

/** Builds a table from routes; entries of `previous` whose route object is unchanged are reused (cursor, binding). */
export function buildRouteTable<B>(
  routes: Iterable<ServiceRoute>,
  bind: BindTarget<B>,
  previous?: RouteTable<B>,
): RouteTable<B> {
  const list = [...routes];
  // Checked before anything is bound, so a refused route leaves no trace in the adapter.
  assertRoutesCompatible(list);
  const entries: ServiceEntry<B>[] = [];
  for (const route of list) {
    const kept = previous?.services.get(route.service);
    if (kept !== undefined && kept.route === route) {
      entries.push(kept);
      continue;
    }
    const target =
      route.target === null ? null : new TargetEntry(route.service, route.target, bind(route.service, route.target));
    entries.push(new ServiceEntry(route, target, canaryEntry(route, bind)));
  }
  return new RouteTable(entries);
}

function canaryEntry<B>(route: ServiceRoute, bind: BindTarget<B>): CanaryEntry<B> | null {
  const canary = route.canary;
  // A canary of the stable release itself changes nothing (and must not bind the release twice).
  if (canary === undefined || canary === null || canary.target.releaseId === route.target?.releaseId) return null;
  const target = new TargetEntry(route.service, canary.target, bind(route.service, canary.target));
  return new CanaryEntry(route.service, canary, target);
}

/**
 * Throws CONFIG_INVALID when two routes name the same service or host, two
 * are default, or a canary is malformed (weight outside 0-100, stickiness by
 * cookie or header without a name, a match rule naming neither).
 */
export function assertRoutesCompatible(routes: readonly ServiceRoute[]): void {
  const services = new Set<string>();
  const hostOwners = new Map<string, string>();
  const prefixOwners = new Map<string, string>();
  let defaultService: string | null = null;
  for (const route of routes) {
    if (route.canary !== undefined && route.canary !== null) assertCanaryValid(route.service, route.canary);
    // Built here once so a bad allow list is refused before anything is bound (the entry is built again later).
    if (route.maintenance) new MaintenanceEntry(route.maintenance);
    if (services.has(route.service)) {
      throw new CutoverError('CONFIG_INVALID', `service '${route.service}' is routed twice`);
    }
    services.add(route.service);
    if (route.default) {
      if (defaultService !== null) {
        throw new CutoverError(
          'CONFIG_INVALID',
          `services '${defaultService}' and '${route.service}' are both marked default`,
          {
            hint: 'Mark at most one service `default: true`.',
          },
        );
      }
      defaultService = route.service;
    }
    for (const host of route.hosts.map(normalizeHost)) {
      const owner = hostOwners.get(host);
      if (owner !== undefined && owner !== route.service) {
        throw new CutoverError(
          'CONFIG_INVALID',
          `host '${host}' is claimed by services '${owner}' and '${route.service}'`,
          {
            hint: 'Give each host to one service.',
          },
        );
      }
      hostOwners.set(host, route.service);
    }
    for (const path of route.paths ?? []) {
      if (!path.prefix.startsWith('/'))
        throw new CutoverError(
          'CONFIG_INVALID',
          `service '${route.service}': path prefix '${path.prefix}' must start with /`,
        );
      // Two spellings of one prefix (`/api`, `/%61pi`) match the same requests: one owner.
      const key = `${normalizeHost(path.host)}${routePrefix(path.prefix)}`;
      const owner = prefixOwners.get(key);
      if (owner !== undefined && owner !== route.service)
        throw new CutoverError('CONFIG_INVALID', `${key} is claimed by services '${owner}' and '${route.service}'`, {
          hint: 'Give each host and path prefix to one service.',
        });
      prefixOwners.set(key, route.service);
    }
  }
}

function assertCanaryValid(service: string, canary: CanaryRoute): void {
  const where = `canary '${canary.target.releaseId}' of service '${service}'`;
  if (!(canary.weight >= 0 && canary.weight <= 100)) {
    throw new CutoverError('CONFIG_INVALID', `${where} has weight ${canary.weight}`, {
      hint: 'Give the canary a weight from 0 to 100 (percent of clients).',
    });
  }
  if (canary.stickiness.by !== 'ip' && canary.stickiness.name.length === 0) {
    throw new CutoverError('CONFIG_INVALID', `${where} is sticky by ${canary.stickiness.by} without a name`, {
      hint: `Name the ${canary.stickiness.by} that identifies a client.`,
    });
  }
  for (const rule of canary.match) {
    if (
      (rule.header === undefined || rule.header.length === 0) &&
      (rule.cookie === undefined || rule.cookie.length === 0)
    ) {
      throw new CutoverError('CONFIG_INVALID', `${where} has a match rule without a header or cookie`, {
        hint: 'Write each rule as { header: X-Canary, value: always } or { cookie: canary, value: "1" }.',
      });
    }
  }
}

/** A route's hosts and the hosts of its path routes, normalised, each once. */
export function servedHostsOf(route: ServiceRoute): string[] {
  return [...new Set([...route.hosts, ...(route.paths ?? []).map((path) => path.host)].map(normalizeHost))];
}

/**
 * True when `url` (a request target) is under `prefix` by whole segments:
 * `/api` takes `/api`, `/api/x`, `/api?q`, never `/apix`; case-sensitive,
 * like paths. The router passes the normalised path (`normalized`, without
 * its query, so a `?` decoded from `%3F` is part of a segment) when the
 * target holds `%`, `//` or a dot segment, as request-path.ts describes:
 * `/api/../admin` is not under `/api`, `/%61pi/x` is.
 */
export function pathHasPrefix(url: string, prefix: string, normalized = false): boolean {
  if (prefix === '/') return url.startsWith('/');
  if (!url.startsWith(prefix)) return false;
  if (url.length === prefix.length) return true;
  const next = url.charCodeAt(prefix.length);
  return next === 0x2f /* / */ || (next === 0x3f /* ? */ && !normalized);
}

/**
 * A configured prefix as a request's path is matched (request-path.ts): its
 * `%XX` decoded (the config's grammar allows them; nginx refuses them, its
 * locations being decoded already), without a trailing `/` an escape made.
 * A prefix that cannot be normalised (`/%2e%2e`) is refused.
 */
export function routePrefix(prefix: string): string {
  if (!prefix.startsWith('/') || !needsNormalizing(prefix)) return prefix;
  const normalized = normalizedPath(prefix);
  if (normalized === null)
    throw new CutoverError('CONFIG_INVALID', `path prefix '${prefix}' does not name a path under /`, {
      hint: 'Write the prefix as the path it matches, like /api, without dot segments or broken %-escapes.',
    });
  return normalized.length > 1 && normalized.endsWith('/') ? normalized.slice(0, -1) : normalized;
}

/** `Example.COM:8080` → `example.com`; `shop.test.` → `shop.test`; `[::1]:8080` → `[::1]`. */
export function normalizeHost(host: string): string {
  return host.slice(0, hostNameEnd(host)).toLowerCase();
}

/**
 * Length of the host part of a Host header value: without `:port`, and
 * without the trailing dot of a fully qualified name (`shop.test.`, which a
 * browser sends as typed). The name is the same one (RFC 1034 §3.1), and
 * nginx routes it so; without this the proxy answered it 404 or from the
 * default service, and served it in the clear without the HTTPS redirect.
 */
function hostNameEnd(host: string): number {
  if (host.charCodeAt(0) === 0x5b /* [ */) {
    const close = host.indexOf(']');
    return close === -1 ? host.length : close + 1;
  }
  const colon = host.indexOf(':');
  const end = colon === -1 ? host.length : colon;
  return end > 1 && host.charCodeAt(end - 1) === 0x2e /* . */ ? end - 1 : end;
}

/** `value.slice(0, length).toLowerCase() === lower` without the copies; `lower` is already lower case. */
function equalsIgnoringCase(value: string, lower: string, length: number): boolean {
  for (let i = 0; i < length; i++) {
    let code = value.charCodeAt(i);
    if (code >= 0x41 && code <= 0x5a) code |= 0x20;
    if (code !== lower.charCodeAt(i)) return false;
  }
  return true;
}
