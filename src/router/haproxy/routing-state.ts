import type { ServiceRoute, Upstream } from '../index.js';
import { normalizeHost } from '../route-table.js';
import { backendName, serverAddress, SLOTS_PER_SERVICE } from './haproxy-names.js';
import {
  routeValue,
  type CanaryShape,
  type HaproxyServerConfig,
  type HaproxyServiceConfig,
} from './render-haproxy-config.js';
import { effectiveCanary } from './service-slots.js';

export type ServerAdmin = 'ready' | 'drain' | 'maint';

/** One server cutover made in HAProxy: an upstream of a release, in one backend slot of its service. */
export interface ServerRecord {
  service: string;
  releaseId: string;
  upstream: Upstream;
  slot: number;
  backend: string;
  name: string;
  /** What cutover last set (and HAProxy confirmed). */
  admin: ServerAdmin;
}

export interface ServiceState {
  route: ServiceRoute;
  shape: CanaryShape | null;
  /** Slot of each routed release. */
  live: Map<string, number>;
  /** The last slot every release held, for a rollback to find its servers. */
  known: Map<string, number>;
}

/** The file a run leaves for the next one, which adopts HAProxy with it. */
export interface SavedRoutingState {
  version: 1;
  /** The generation of the config HAProxy ran when this was saved. */
  generation?: string;
  /** The settings that config was rendered with (settingsFingerprint); absent when saved by an older cutover. */
  settings?: string;
  services: { route: ServiceRoute; shape: CanaryShape | null; live: [string, number][]; known: [string, number][] }[];
  servers: ServerRecord[];
  unhealthy: string[];
}

/**
 * What cutover believes HAProxy holds: the services with their routes and
 * slots, the servers it added and the state it set them to, and the
 * upstreams out of rotation. Everything rendered (a config on reload, a
 * routes.map value on a switch) is derived from it. Pure: no I/O.
 */
export class RoutingState {
  readonly services = new Map<string, ServiceState>();
  /** By `backend/server`. */
  readonly servers = new Map<string, ServerRecord>();
  readonly unhealthy = new Set<string>();

  /** The upstreams the route (the service's current one unless given) lists for a release. */
  desiredUpstreams(
    service: string,
    releaseId: string,
    route = this.services.get(service)?.route,
  ): Map<string, Upstream> {
    const out = new Map<string, Upstream>();
    if (route === undefined) return out;
    for (const target of [route.target, effectiveCanary(route)?.target ?? null]) {
      if (target !== null && target.releaseId === releaseId)
        for (const upstream of target.upstreams) out.set(upstream.id, upstream);
    }
    return out;
  }

  /** Ready when healthy, or when no upstream of its release is (as nginx's adapter: all down would be certain 503s). */
  healthyAdmin(record: ServerRecord, route: ServiceRoute): ServerAdmin {
    if (!this.unhealthy.has(record.upstream.id)) return 'ready';
    const upstreams = [...this.desiredUpstreams(route.service, record.releaseId, route).values()];
    return upstreams.every((u) => this.unhealthy.has(u.id)) ? 'ready' : 'maint';
  }

  /** The service's routes.map value. */
  routeValueOf(state: ServiceState): string {
    const service = state.route.service;
    const stableId = state.route.target?.releaseId;
    const canary = effectiveCanary(state.route);
    const stableSlot = stableId === undefined ? undefined : state.live.get(stableId);
    const canarySlot = canary === null ? undefined : state.live.get(canary.target.releaseId);
    // A canary with no healthy instance sends its share to stable, as the embedded proxy does.
    const canaryServes = canary !== null && canary.target.upstreams.some((u) => !this.unhealthy.has(u.id));
    const stable = stableSlot === undefined ? null : backendName(service, stableSlot);
    const canaryBackend =
      canarySlot === undefined || (!canaryServes && stable !== null) ? null : backendName(service, canarySlot);
    return routeValue(stable, canaryBackend, canary?.weight ?? 0);
  }

  /** The renderer's view of every service (`override` in place of its service's current state). */
  serviceConfigs(override?: ServiceState): HaproxyServiceConfig[] {
    const states = new Map(this.services);
    if (override !== undefined) states.set(override.route.service, override);
    const out: HaproxyServiceConfig[] = [];
    for (const state of states.values()) {
      const slots: HaproxyServerConfig[][] = Array.from({ length: SLOTS_PER_SERVICE }, () => []);
      for (const record of this.servers.values()) {
        if (record.service !== state.route.service) continue;
        slots[record.slot]?.push({
          name: record.name,
          address: serverAddress(record.upstream),
          enabled: record.admin === 'ready',
        });
      }
      out.push({
        service: state.route.service,
        hosts: hostsOf(state.route),
        isDefault: state.route.default,
        shape: state.shape,
        route: this.routeValueOf(state),
        servers: slots,
      });
    }
    return out;
  }

  save(): SavedRoutingState {
    return {
      version: 1,
      services: [...this.services.values()].map((s) => ({
        route: s.route,
        shape: s.shape,
        live: [...s.live],
        known: [...s.known],
      })),
      servers: [...this.servers.values()],
      unhealthy: [...this.unhealthy],
    };
  }

  /** Loads a saved state into this (empty) one. */
  restore(saved: SavedRoutingState): void {
    for (const s of saved.services)
      this.services.set(s.route.service, {
        route: s.route,
        shape: s.shape,
        live: new Map(s.live),
        known: new Map(s.known),
      });
    for (const record of saved.servers) this.servers.set(`${record.backend}/${record.name}`, record);
    for (const id of saved.unhealthy) this.unhealthy.add(id);
  }
}

/** A service keeps the canary shape it last had, so a promotion (canary gone) changes no config. */
export function shapeOf(route: ServiceRoute, previous: CanaryShape | null): CanaryShape | null {
  const canary = effectiveCanary(route);
  if (canary === null) return previous;
  return { stickiness: canary.stickiness, match: canary.match };
}

export function hostsOf(route: ServiceRoute): string[] {
  return [...new Set(route.hosts.map(normalizeHost))].sort();
}
