import os from 'node:os';
import { CONFIG_DEFAULTS } from './config-defaults.js';
import type { RawConfig, RawService } from './config-schema.js';
import type { ServerConfig, UpstreamTrafficConfig } from './types.js';

/** `proxy_workers: auto`: one process per core, at most this many (beyond it a second machine helps more). */
const AUTO_PROXY_WORKERS_CAP = 8;

/** `server.trusted_proxies`, `max_connections`, `proxy_workers` and `client_timeouts`, defaulted. */
export function resolveProxyServer(
  raw: RawConfig['server'],
): Pick<ServerConfig, 'trustedProxies' | 'maxConnections' | 'proxyWorkers' | 'clientTimeouts'> {
  const timeouts = CONFIG_DEFAULTS.clientTimeouts;
  const workers = raw?.proxy_workers ?? 'auto';
  return {
    proxyWorkers: workers === 'auto' ? Math.min(os.availableParallelism(), AUTO_PROXY_WORKERS_CAP) : workers,
    trustedProxies: raw?.trusted_proxies ?? [],
    maxConnections: raw?.max_connections ?? CONFIG_DEFAULTS.maxConnections,
    clientTimeouts: {
      headersMs: raw?.client_timeouts?.headers ?? timeouts.headersMs,
      requestMs: raw?.client_timeouts?.request ?? timeouts.requestMs,
      keepAliveMs: raw?.client_timeouts?.keep_alive ?? timeouts.keepAliveMs,
    },
  };
}

/** A service's `timeouts`, `instance_limits` and `passive_health`, defaulted. */
export function resolveUpstreamTraffic(raw: RawService): UpstreamTrafficConfig {
  const defaults = CONFIG_DEFAULTS.traffic;
  const ejectionMs = raw.passive_health?.ejection_time ?? defaults.passiveHealth.ejectionMs;
  return {
    connectTimeoutMs: raw.timeouts?.connect ?? defaults.connectTimeoutMs,
    responseHeadersTimeoutMs: raw.timeouts?.response_headers ?? defaults.responseHeadersTimeoutMs,
    idleTimeoutMs: raw.timeouts?.idle ?? defaults.idleTimeoutMs,
    connectionsPerInstance: raw.instance_limits?.connections ?? defaults.connectionsPerInstance,
    pendingPerInstance: raw.instance_limits?.pending ?? defaults.pendingPerInstance,
    passiveHealth: {
      consecutiveFailures: raw.passive_health?.consecutive_failures ?? defaults.passiveHealth.consecutiveFailures,
      ejectionMs,
      // A back-off written shorter than the default cap keeps the cap at least as long as the first ejection.
      maxEjectionMs:
        raw.passive_health?.max_ejection_time ?? Math.max(ejectionMs, defaults.passiveHealth.maxEjectionMs),
    },
  };
}
