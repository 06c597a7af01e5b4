import type { RouteTarget, ServiceRoute, Upstream } from '../router/index.js';
import type { Slot } from './slot.js';
import { CutoverError } from './errors.js';

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

export class ServiceEntry<B> {
  readonly service: string;
  readonly isDefault: boolean;
  /** Normalised hosts (lower case, no port). */
  readonly hosts: readonly string[];
  /** Null while the service has no release routed: requests get 503. */
  readonly target: TargetEntry<B> | null;
  /** The route this entry was built from; a rebuild reuses the entry while the route object is the same. */
  readonly route: ServiceRoute;

  constructor(route: ServiceRoute, target: TargetEntry<B> | null) {
    this.service = route.service;
    this.isDefault = route.default;
    this.hosts = route.hosts.map(normalizeHost);
    this.target = target;
    this.route = route;
  }
}

export type BindTarget<B> = (service: string, target: RouteTarget) => B;

export class RouteTable<B> {
  readonly services: ReadonlyMap<string, ServiceEntry<B>>;
  readonly defaultService: ServiceEntry<B> | null;
  private readonly byHost: ReadonlyMap<string, ServiceEntry<B>>;
  /** The same hosts as `byHost`, as parallel arrays for the allocation-free scan of `lookup`. */
  private readonly hostNames: readonly string[];
  private readonly hostEntries: readonly ServiceEntry<B>[];

  /** Entries must not conflict (see `buildRouteTable`, which checks). */
  constructor(entries: readonly ServiceEntry<B>[]) {
    const services = new Map<string, ServiceEntry<B>>();
    const byHost = new Map<string, ServiceEntry<B>>();
    let defaultService: ServiceEntry<B> | null = null;
    for (const entry of entries) {
      services.set(entry.service, entry);
      if (entry.isDefault) defaultService = entry;
      for (const host of entry.hosts) byHost.set(host, entry);
    }
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
  lookup(hostHeader: string | undefined): ServiceEntry<B> | undefined {
    if (hostHeader === undefined || hostHeader.length === 0) return this.defaultService ?? undefined;
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
    const target = route.target === null ? null : new TargetEntry(route.service, route.target, bind(route.service, route.target));
    entries.push(new ServiceEntry(route, target));
  }
  return new RouteTable(entries);
}

/** Throws CONFIG_INVALID when two routes name the same service or host, or two are default. */
export function assertRoutesCompatible(routes: readonly ServiceRoute[]): void {
  const services = new Set<string>();
  const hostOwners = new Map<string, string>();
  let defaultService: string | null = null;
  for (const route of routes) {
    if (services.has(route.service)) {
      throw new CutoverError('CONFIG_INVALID', `service '${route.service}' is routed twice`);
    }
    services.add(route.service);
    if (route.default) {
      if (defaultService !== null) {
        throw new CutoverError('CONFIG_INVALID', `services '${defaultService}' and '${route.service}' are both marked default`, {
          hint: 'Mark at most one service `default: true`.',
        });
      }
      defaultService = route.service;
    }
    for (const host of route.hosts.map(normalizeHost)) {
      const owner = hostOwners.get(host);
      if (owner !== undefined && owner !== route.service) {
        throw new CutoverError('CONFIG_INVALID', `host '${host}' is claimed by services '${owner}' and '${route.service}'`, {
          hint: 'Give each host to one service.',
        });
      }
      hostOwners.set(host, route.service);
    }
  }
}

/** `Example.COM:8080` → `example.com`; `[::1]:8080` → `[::1]`. */
export function normalizeHost(host: string): string {
  return host.slice(0, hostNameEnd(host)).toLowerCase();
}

/** Length of the host part of a Host header value (without `:port`). */
function hostNameEnd(host: string): number {
  if (host.charCodeAt(0) === 0x5b /* [ */) {
    const close = host.indexOf(']');
    return close === -1 ? host.length : close + 1;
  }
  const colon = host.indexOf(':');
  return colon === -1 ? host.length : colon;
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
