import fs from 'node:fs';
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

/** Largest `maintenance_page`: it travels in every route update to the proxy and its workers. */
export const MAINTENANCE_PAGE_MAX_BYTES = 64 * 1024;

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
    throw new CutoverError(
      'ROUTER_UNSUPPORTED',
      `the ${router.kind} router cannot answer for a service in maintenance`,
    );
  }
  if (!request.on && before === null) return { maintenance: null, changed: false };
  const page = request.on && service.maintenancePage !== null ? readPage(name, service.maintenancePage) : undefined;
  const record: MaintenanceRecord | null = request.on
    ? {
        service: name,
        message: request.message ?? '',
        retryAfterSec: request.retryAfterSec ?? DEFAULT_MAINTENANCE_RETRY_AFTER_SEC,
        allow: request.allow ?? [],
        ...(page !== undefined ? { page } : {}),
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
    data: record
      ? { ...record, page: record.page !== undefined }
      : { actor: request.actor, since: before?.since ?? null },
    level: 'warn',
  });
  return { maintenance: record, changed: true };
}

/** Read once, when maintenance goes on, with a size bound: the page is stored with the maintenance and routed. */
function readPage(service: string, file: string): string {
  let size: number;
  try {
    size = fs.statSync(file).size;
  } catch (error) {
    throw new CutoverError(
      'CONFIG_INVALID',
      `services.${service}.maintenance_page: cannot read ${file}: ${(error as Error).message}`,
      {
        hint: 'Point maintenance_page at an HTML file the server can read (relative to cutover.yaml), or remove it for the built-in page.',
      },
    );
  }
  if (size > MAINTENANCE_PAGE_MAX_BYTES) {
    throw new CutoverError(
      'CONFIG_INVALID',
      `services.${service}.maintenance_page: ${file} has ${size} bytes, more than ${MAINTENANCE_PAGE_MAX_BYTES}`,
      { hint: 'Keep the page small and self-contained (inline styles, no large images).' },
    );
  }
  return fs.readFileSync(file, 'utf8');
}
