import type { MetricsPoint } from './wire-types.js';

/**
 * What the "observed" line under the traffic bar measures: the share of
 * requests the proxy sent to each release, counted by the proxy itself (its
 * per-release request counters, read once a second), summed over a window:
 * the last 30 s, or less when the split changed within them, so the figure
 * is never a blend of two weights.
 *
 * It used to be the last one-second point alone. At 25 % and a few dozen
 * requests a second that is a handful of requests, and sticky routing sends
 * a second's few users wholly one way: "67 % · 33 %" at weight 25 % was that
 * noise. Over 30 s it follows the weight to within a point or two.
 *
 * It is a share of requests, not of users: with stickiness each user stays
 * on one release, and the two shares agree only when the users on each side
 * send as many requests. The label says "requests" for that reason.
 * Pure: the card passes the points and the moment the split last changed.
 */
export const OBSERVED_WINDOW_MS = 30_000;

export interface ObservedShare {
  /** Length of the window the counts cover (ms); 0 when no point covers it yet. */
  windowMs: number;
  /** True when the window starts at the last change of the split rather than 30 s back. */
  sinceChange: boolean;
  total: number;
  releases: { releaseId: string; requests: number; percent: number }[];
}

/**
 * Sums each release's requests over the points inside the window. A point
 * counts the requests between the reading before it and its own, so it is
 * inside when the reading before it is: the first point after a change of
 * the split (partly before it) is left out. `changedAt` is in the server's
 * clock, like the points (an event's `at`), never the browser's.
 */
export function observedShare(
  points: readonly MetricsPoint[],
  releaseIds: readonly string[],
  changedAt: number | null,
  windowMs = OBSERVED_WINDOW_MS,
): ObservedShare {
  const last = points.at(-1);
  const empty: ObservedShare = { windowMs: 0, sinceChange: false, total: 0, releases: [] };
  if (!last || points.length < 2) return empty;
  const windowStart = last.at - windowMs;
  const sinceChange = changedAt !== null && changedAt > windowStart;
  const start = sinceChange ? changedAt : windowStart;
  const counts = new Map(releaseIds.map((id) => [id, 0]));
  let from: number | null = null;
  for (let i = 1; i < points.length; i++) {
    const before = points[i - 1]!;
    if (before.at < start) continue;
    from ??= before.at;
    for (const rate of points[i]!.releases) {
      const count = counts.get(rate.releaseId);
      if (count !== undefined) counts.set(rate.releaseId, count + rate.requests);
    }
  }
  if (from === null) return { ...empty, sinceChange };
  const total = [...counts.values()].reduce((sum, n) => sum + n, 0);
  return {
    windowMs: last.at - from,
    sinceChange,
    total,
    releases: releaseIds.map((releaseId) => {
      const requests = counts.get(releaseId) ?? 0;
      return { releaseId, requests, percent: total > 0 ? (requests / total) * 100 : 0 };
    }),
  };
}

/** "requests in the last 30 s: v1 75% · v2 25% (1,800)" — or "since the split changed 12 s ago". */
export function describeObserved(share: ObservedShare, label: (releaseId: string) => string): string {
  const seconds = Math.round(share.windowMs / 1000);
  const window = share.sinceChange ? `since the split changed ${seconds} s ago` : `in the last ${seconds} s`;
  if (share.windowMs === 0) return 'requests per release: waiting for the proxy’s counters';
  if (share.total === 0) return `requests ${window}: none`;
  const parts = share.releases
    .filter((r) => r.requests > 0)
    .map((r) => `${label(r.releaseId)} ${formatPercent(r.percent)}`);
  return `requests ${window}: ${parts.join(' · ')} (${share.total.toLocaleString('en-US')} requests)`;
}

/** Whole percents, but never "0%" for a release that served some, nor "100%" beside one that did. */
function formatPercent(percent: number): string {
  if (percent > 0 && percent < 1) return '<1%';
  if (percent > 99 && percent < 100) return '>99%';
  return `${Math.round(percent)}%`;
}
