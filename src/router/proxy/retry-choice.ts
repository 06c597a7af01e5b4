import type { TargetEntry } from '../route-table.js';
import type { TargetBinding } from './release-traffic.js';

/**
 * The instance a failed attempt goes to next, or -1: the next in rotation
 * after `current` (never back to `first`), not ejected, and still routed.
 *
 * An exchange keeps the target it was routed to on arrival, so by the time
 * an attempt fails the route may have moved on: an instance taken out of it
 * (a pod Kubernetes is stopping, a drained instance) has its pool closed,
 * and a request dispatched there would fail on the closed pool
 * (UND_ERR_CLOSED) instead of being sent to an instance that can answer.
 */
export function retryTarget(
  target: TargetEntry<TargetBinding>,
  first: number,
  current: number,
  outOfRotation: ReadonlySet<string>,
): number {
  for (
    let next = target.nextAfter(first, current, outOfRotation);
    next >= 0;
    next = target.nextAfter(first, next, outOfRotation)
  ) {
    if (target.binding.pools[next]?.isClosed === false) return next;
  }
  return -1;
}
