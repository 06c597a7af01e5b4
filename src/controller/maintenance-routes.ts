import type { MaintenanceRoute, Router, ServiceRoute, TlsRoute } from '../router/index.js';
import type { MaintenanceRecord } from '../store/records.js';
import type { Store } from '../store/store.js';

/**
 * Maintenance as part of every route: the router the runners and the
 * lifecycle use is wrapped so each setRoute carries the service's current
 * maintenance from the store, whatever built the route (a switch, a canary
 * weight, a rolling batch, recovery). The last route applied per service is
 * kept, so switching maintenance on or off re-sends exactly what serves now
 * (a canary keeps its weight) with only the maintenance changed: no deploy.
 */
export class MaintenanceRoutes {
  private readonly applied = new Map<string, ServiceRoute>();

  constructor(
    private readonly store: Store,
    private readonly inner: Router,
    /** The service's certificate, carried by every route the same way (HTTPS at the edge); none by default. */
    private readonly tlsFor: (service: string) => TlsRoute | null = () => null,
  ) {}

  /** The router to hand out: the same object in every respect but setRoute. */
  wrap(): Router {
    const setRoute = (route: ServiceRoute): Promise<void> => this.apply(route);
    return new Proxy(this.inner, {
      get(target, property) {
        if (property === 'setRoute') return setRoute;
        const value: unknown = Reflect.get(target, property);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  /** The route last applied for a service (with its maintenance), if any. */
  appliedRoute(service: string): ServiceRoute | undefined {
    return this.applied.get(service);
  }

  /** Re-sends a service's route with the maintenance the store holds now; `fallback` when none was applied yet. */
  async reapply(service: string, fallback: () => ServiceRoute): Promise<void> {
    await this.apply(this.applied.get(service) ?? fallback());
  }

  private async apply(route: ServiceRoute): Promise<void> {
    const withMaintenance: ServiceRoute = {
      ...route,
      maintenance: maintenanceRoute(this.store.getMaintenance(route.service)),
    };
    const tls = this.tlsFor(route.service);
    if (tls !== null) withMaintenance.tls = tls;
    await this.inner.setRoute(withMaintenance);
    this.applied.set(route.service, withMaintenance);
  }
}

export function maintenanceRoute(record: MaintenanceRecord | null): MaintenanceRoute | null {
  if (record === null) return null;
  const route: MaintenanceRoute = { message: record.message, retryAfterSec: record.retryAfterSec, allow: record.allow };
  if (record.page !== undefined) route.page = record.page;
  return route;
}
