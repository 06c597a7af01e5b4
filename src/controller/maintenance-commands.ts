import type { ServiceConfig } from '../config/types.js';
import { CutoverError } from '../core/errors.js';
import type { MaintenanceRecord } from '../store/records.js';
import type { MaintenanceRoutes } from './maintenance-routes.js';
import type { RunnerContext } from './runner-context.js';

export interface MaintenanceRequest {
  on: boolean;
  actor: string;
  /** Shown to users; empty for the default sentence. */
  message?: string;
  retryAfterSec?: number;
  /** CIDR blocks whose clients still reach the service. */
  allow?: string[];
}

/** What clients are told to wait when the operator does not say: long enough not to hammer, short enough to notice the end. */
export const DEFAULT_MAINTENANCE_RETRY_AFTER_SEC = 300;

/**
 * `cutover maintenance on|off`: stored first (a server restart keeps it),
 * then the route that serves now is sent again with the maintenance on or
 * off. A router that refuses leaves the store as it was. Switching on while
 * on replaces the message, wait and allow list; off while off changes nothing.
 */
export async function switchMaintenance(
  ctx: RunnerContext,
  routes: MaintenanceRoutes,
  service: ServiceConfig,
  request: MaintenanceRequest,
): Promise<{ maintenance: MaintenanceRecord | null; changed: boolean }> {
  const { store, router, events, clock, lifecycle } = ctx;
  const name = service.name;
  const before = store.getMaintenance(name);
  if (request.on && router.supportsMaintenance !== true) {
    throw new CutoverError('ROUTER_UNSUPPORTED', `the ${router.kind} router cannot answer for a service in maintenance`);
  }
  if (!request.on && before === null) return { maintenance: null, changed: false };
  const record: MaintenanceRecord | null = request.on
    ? {
        service: name,
        message: request.message ?? '',
        retryAfterSec: request.retryAfterSec ?? DEFAULT_MAINTENANCE_RETRY_AFTER_SEC,
        allow: request.allow ?? [],
        actor: request.actor,
        since: before?.since ?? clock.now(),
      }
    : null;
  store.setMaintenance(name, record);
  try {
    await routes.reapply(name, () => lifecycle.routeFor(service, lifecycle.activeRelease(name)));
  } catch (error) {
    store.setMaintenance(name, before);
    throw error;
  }
  events.record({
    operationId: null,
    service: name,
    releaseId: null,
    type: record ? 'maintenance.on' : 'maintenance.off',
    message: record
      ? `maintenance on by ${request.actor}: users get 503 (Retry-After ${record.retryAfterSec} s)` +
        (record.allow.length > 0 ? `; allowed: ${record.allow.join(', ')}` : '')
      : `maintenance off by ${request.actor}: traffic served again`,
    data: record ? { ...record } : { actor: request.actor, since: before?.since ?? null },
    level: 'warn',
  });
  return { maintenance: record, changed: true };
}
