import { CONFIG_DEFAULTS } from '../config/config-defaults.js';
import type { UpstreamTrafficConfig } from '../config/types.js';

/**
 * What cutover.yaml says about clients (`server.client_timeouts`,
 * `server.max_connections`) and about each service's instances (`timeouts`,
 * `instance_limits`, `passive_health`), as the nginx and HAProxy routers take
 * it. Before, only the embedded proxy applied them: a team that set
 * `timeouts.response_headers: 5s` and ran nginx or HAProxy got their 60 s
 * without a word. Which key each router applies, and how, is in
 * docs/nginx-router.md and docs/haproxy-router.md.
 */
export interface RouterTrafficSettings {
  clientHeadersTimeoutMs: number;
  clientKeepAliveTimeoutMs: number;
  maxConnections: number;
  /** By service name; a service not listed (added by a reload after the router started) gets the defaults. */
  services: Readonly<Record<string, UpstreamTrafficConfig>>;
}

export const DEFAULT_ROUTER_TRAFFIC: RouterTrafficSettings = {
  clientHeadersTimeoutMs: CONFIG_DEFAULTS.clientTimeouts.headersMs,
  clientKeepAliveTimeoutMs: CONFIG_DEFAULTS.clientTimeouts.keepAliveMs,
  maxConnections: CONFIG_DEFAULTS.maxConnections,
  services: {},
};

export function instanceTrafficOf(settings: RouterTrafficSettings, service: string): UpstreamTrafficConfig {
  return Object.hasOwn(settings.services, service) ? settings.services[service]! : CONFIG_DEFAULTS.traffic;
}

/** What `idle: 0` (never) becomes where a router needs a number: a day, longer than any stream waits in practice. */
const NEVER_MS = 24 * 60 * 60_000;

/**
 * nginx (`proxy_read_timeout`) and HAProxy (`timeout server`) time an
 * instance by one silence: the wait for the response head and each gap in
 * its body alike. The larger of `response_headers` and `idle` is used, so a
 * router never cuts a response the embedded proxy would let through (a
 * stream with `idle: 0` keeps a day's silence).
 */
export function instanceSilenceMs(traffic: UpstreamTrafficConfig): number {
  return Math.max(traffic.responseHeadersTimeoutMs, traffic.idleTimeoutMs === 0 ? NEVER_MS : traffic.idleTimeoutMs);
}

/** A duration as both routers' configs take it: whole milliseconds, at least 1. */
export function durationText(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`duration ${ms} ms is not one cutover renders`);
  return `${Math.max(1, Math.round(ms))}ms`;
}

/** A count as both routers' configs take it: a whole number from 1 (the config schema already refused others). */
export function countText(value: number): string {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`count ${value} is not one cutover renders`);
  return String(value);
}
