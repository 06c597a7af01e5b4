import type { ReleaseCounters, ServiceRoute } from '../index.js';
import type { InstanceEjectionEvent } from '../proxy/passive-health.js';
import type { RetireOptions } from '../proxy/proxy-router.js';
import type { ControlReply } from './control-protocol.js';
import type { ProxyProcessListenOptions } from './proxy-process-options.js';
import type { RouterRequest } from './router-requests.js';

/**
 * What the proxy's main process and its worker processes say to each other
 * over the IPC channel `fork` opens. `start` carries the listening socket as
 * the message's handle, and the routes the worker must hold before it
 * accepts a single connection.
 */
export type ToWorker =
  | { type: 'start'; listen: ProxyProcessListenOptions; routes: ServiceRoute[]; unhealthy: string[] }
  /** Right after `start` when the proxy has a TLS listener: its socket as the handle. */
  | { type: 'tls-listener' }
  | { type: 'request'; request: RouterRequest }
  | { type: 'retire'; options: RetireOptions }
  | { type: 'stop' };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'reply'; reply: ControlReply }
  | { type: 'ejection'; data: InstanceEjectionEvent }
  /** A retired worker's last counters, just before it exits. */
  | { type: 'final-counters'; counters: ReleaseCounters[] };
