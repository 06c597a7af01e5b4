import type { ReleaseCounters } from '../index.js';

/**
 * The counters of several proxy processes (the workers of a generation, the
 * generations before it) as one reading: per release, every field summed and
 * the latency histograms added bucket by bucket. Readers see one proxy whose
 * counters only grow, however many processes served the traffic.
 */
export function mergeCounters(readings: readonly (readonly ReleaseCounters[])[]): ReleaseCounters[] {
  const merged = new Map<string, ReleaseCounters>();
  for (const reading of readings) {
    for (const counters of reading) {
      const key = `${counters.service}\0${counters.releaseId}`;
      const into = merged.get(key);
      if (into === undefined) merged.set(key, copyOf(counters));
      else add(into, counters);
    }
  }
  return [...merged.values()];
}

function copyOf(c: ReleaseCounters): ReleaseCounters {
  return {
    ...c,
    status: { ...c.status },
    latency: { ...c.latency, bucketsMs: [...c.latency.bucketsMs], counts: [...c.latency.counts] },
  };
}

function add(into: ReleaseCounters, c: ReleaseCounters): void {
  into.requests += c.requests;
  into.inFlight += c.inFlight;
  into.openUpgrades += c.openUpgrades;
  for (const key of Object.keys(into.status) as (keyof ReleaseCounters['status'])[]) into.status[key] += c.status[key];
  const sameBuckets =
    into.latency.bucketsMs.length === c.latency.bucketsMs.length &&
    into.latency.bucketsMs.every((b, i) => b === c.latency.bucketsMs[i]);
  // Every process runs the same build's buckets; another build's histogram (a handover across versions) is dropped
  // rather than added into the wrong buckets.
  if (!sameBuckets) return;
  into.latency.sumMs += c.latency.sumMs;
  into.latency.count += c.latency.count;
  into.latency.counts = into.latency.counts.map((n, i) => n + (c.latency.counts[i] ?? 0));
}

/**
 * What a process that is gone had counted, kept so that the merged reading
 * does not drop: nothing is in flight on it any more.
 */
export function settled(reading: readonly ReleaseCounters[]): ReleaseCounters[] {
  return reading.map((c) => ({ ...copyOf(c), inFlight: 0, openUpgrades: 0 }));
}
