import type { TargetEntry } from '../route-table.js';
import type { TargetBinding } from './release-traffic.js';
import type { UpstreamPool } from './upstream-pool.js';

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
  return nextWhere(target, first, current, outOfRotation, isOpen);
}

/**
 * The next instance in rotation after `index` whose pool has room, or -1: a
 * full instance (often a hung one) is passed over rather than queued on.
 */
export function notFullAfter(
  target: TargetEntry<TargetBinding>,
  index: number,
  outOfRotation: ReadonlySet<string>,
): number {
  return nextWhere(target, index, index, outOfRotation, hasRoom);
}

/** The next instance in rotation after `current` (never back to `first`) whose pool passes `usable`, or -1. */
export function nextWhere(
  target: TargetEntry<TargetBinding>,
  first: number,
  current: number,
  outOfRotation: ReadonlySet<string>,
  usable: (pool: UpstreamPool) => boolean,
): number {
  for (
    let next = target.nextAfter(first, current, outOfRotation);
    next >= 0;
    next = target.nextAfter(first, next, outOfRotation)
  ) {
    const pool = target.binding.pools[next];
    if (pool !== undefined && usable(pool)) return next;
  }
  return -1;
}

function isOpen(pool: UpstreamPool): boolean {
  return !pool.isClosed;
}

function hasRoom(pool: UpstreamPool): boolean {
  return !pool.isFull;
}
