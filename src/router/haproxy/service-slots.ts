import type { CanaryRoute, ServiceRoute } from '../index.js';
import { SLOTS_PER_SERVICE } from './haproxy-names.js';

/**
 * Which backend slot of a service each routed release takes. A service has
 * SLOTS_PER_SERVICE backends; the releases a route sends traffic to (stable,
 * canary) each hold one. A release keeps its slot while no other routed
 * release shares it; a release new to the route takes a slot that no release
 * routed before or after the change holds, so its servers are added and made
 * ready where no request is routed yet, and the switch itself is one map
 * value (routes.map). Two releases before and two after fit in four slots.
 *
 * Pure: no I/O.
 */
export function assignSlots(
  route: ServiceRoute,
  previousLive: ReadonlyMap<string, number>,
  known: ReadonlyMap<string, number>,
): Map<string, number> {
  const releases = liveReleases(route);
  const taken = new Set(previousLive.values());
  const assigned = new Map<string, number>();
  // Releases routed before keep their slot.
  for (const releaseId of releases) {
    const slot = previousLive.get(releaseId);
    if (slot !== undefined) assigned.set(releaseId, slot);
  }
  for (const releaseId of releases) {
    if (assigned.has(releaseId)) continue;
    const used = new Set([...taken, ...assigned.values()]);
    // A release coming back (a rollback) returns to its old slot when nothing routed holds it.
    const former = known.get(releaseId);
    if (former !== undefined && !used.has(former)) {
      assigned.set(releaseId, former);
      continue;
    }
    for (let slot = 0; slot < SLOTS_PER_SERVICE; slot++) {
      if (!used.has(slot)) {
        assigned.set(releaseId, slot);
        break;
      }
    }
  }
  return assigned;
}

/** The canary as routed: none when it is the stable release itself (as in the embedded proxy's route table). */
export function effectiveCanary(route: ServiceRoute): CanaryRoute | null {
  const canary = route.canary ?? null;
  if (canary === null || canary.target.releaseId === route.target?.releaseId) return null;
  return canary;
}

/** The releases a route sends traffic to: stable first, then the canary. */
export function liveReleases(route: ServiceRoute): string[] {
  const out: string[] = [];
  if (route.target !== null) out.push(route.target.releaseId);
  const canary = effectiveCanary(route);
  if (canary !== null) out.push(canary.target.releaseId);
  return out;
}
