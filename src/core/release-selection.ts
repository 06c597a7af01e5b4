import type { ReleaseRecord } from './release-record.js';
import { otherSlot, type Slot } from './slot.js';

/** Pure choices over a service's releases (newest first), shared by deploy, rollback and pruning. */

/** The slot a new deploy goes to: the one the active release is not in (blue when nothing runs). */
export function idleSlot(active: ReleaseRecord | null): Slot {
  return active ? otherSlot(active.slot) : 'blue';
}

/** Releases that once served traffic and can be returned to. */
const ROLLBACK_CANDIDATE_STATES = new Set(['standby', 'stopped']);

/**
 * The release `rollback` returns to: the release that served before the
 * current one, i.e. of the kept releases deployed before it (a lower
 * sequence number) that once served, the one that served last. A rollback
 * never goes forward: after `switch` back to an older slot, the newer
 * release is not a rollback target (`rollback --to` or `switch` reach it).
 * With nothing active, the release that served last.
 */
export function previousRelease(releases: ReleaseRecord[], active: ReleaseRecord | null): ReleaseRecord | null {
  const candidates = releases
    .filter(
      (r) =>
        (active === null || (r.id !== active.id && r.seq < active.seq)) &&
        ROLLBACK_CANDIDATE_STATES.has(r.state) &&
        r.activatedAt !== null,
    )
    .sort((a, b) => (b.activatedAt ?? 0) - (a.activatedAt ?? 0));
  return candidates[0] ?? null;
}

/** Kept releases newer than the active one that served and could serve again: what `rollback` will not go to. */
export function newerServedReleases(releases: ReleaseRecord[], active: ReleaseRecord): ReleaseRecord[] {
  return releases.filter((r) => r.seq > active.seq && ROLLBACK_CANDIDATE_STATES.has(r.state) && r.activatedAt !== null);
}

/** Finds a kept release by id (`web-3`), sequence number (`3`) or version (`v1.2.0`, newest match). */
export function findRelease(releases: ReleaseRecord[], ref: string): ReleaseRecord | null {
  const byId = releases.find((r) => r.id === ref);
  if (byId) return byId;
  if (/^\d+$/.test(ref)) {
    const seq = Number(ref);
    const bySeq = releases.find((r) => r.seq === seq);
    if (bySeq) return bySeq;
  }
  return releases.find((r) => r.version === ref && r.state !== 'failed' && r.state !== 'aborted') ?? null;
}

/**
 * Releases beyond the rollback limit, to be pruned. The limit counts releases
 * that served traffic (active, standby, stopped); failed and aborted ones do
 * not use a place, and the active and standby releases are never pruned.
 */
export function releasesToPrune(releases: ReleaseRecord[], limit: number): ReleaseRecord[] {
  const served = releases
    .filter((r) => r.activatedAt !== null && r.state !== 'pruned')
    .sort((a, b) => (b.activatedAt ?? 0) - (a.activatedAt ?? 0));
  return served.slice(limit).filter((r) => r.state === 'stopped');
}
