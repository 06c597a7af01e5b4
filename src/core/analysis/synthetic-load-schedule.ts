/**
 * When the synthetic load of an analysis sends its requests: pure, so the
 * bounds are tested without a clock or a socket (analysis/synthetic-load.ts
 * does the timers and the I/O).
 *
 * - The schedule is a constant rate from the moment the load (re)starts:
 *   by time t, `rate * t` requests are due. A tick sends what is due.
 * - At most `maxInFlight` requests are outstanding. What is due while that
 *   many hang is dropped, not queued: a slow release gets fewer requests,
 *   never a burst when it recovers.
 * - Held (real traffic is enough): nothing is due, and the schedule starts
 *   over on release, so a long hold does not turn into a burst either.
 */
export interface LoadScheduleState {
  /** Requests per second. */
  rate: number;
  /** When the current run of the schedule began (epoch ms); null while held. */
  since: number | null;
  /** Requests sent or dropped since `since`. */
  accounted: number;
}

export interface LoadTick {
  state: LoadScheduleState;
  /** Requests to send now. */
  send: number;
  /** Requests that were due but found `maxInFlight` outstanding. */
  dropped: number;
}

/** The most requests one tick sends, whatever the gap since the last one (a stalled event loop). */
export const MAX_BURST = 10;

export function startSchedule(rate: number, now: number): LoadScheduleState {
  if (!(rate > 0)) throw new RangeError(`a load rate must be > 0, got ${rate}`);
  return { rate, since: now, accounted: 0 };
}

export function holdSchedule(state: LoadScheduleState): LoadScheduleState {
  return { ...state, since: null, accounted: 0 };
}

/** The requests due at `now`, given how many are still outstanding. */
export function tickSchedule(state: LoadScheduleState, now: number, inFlight: number, maxInFlight: number): LoadTick {
  const since = state.since ?? now;
  const due = Math.floor(((Math.max(now, since) - since) * state.rate) / 1000) + 1 - state.accounted;
  if (due <= 0) return { state: { ...state, since }, send: 0, dropped: 0 };
  const room = Math.max(0, maxInFlight - inFlight);
  const send = Math.min(due, room, MAX_BURST);
  return { state: { ...state, since, accounted: state.accounted + due }, send, dropped: due - send };
}

/** How long to wait before the next request is due (ms, at least 1). */
export function nextTickIn(state: LoadScheduleState, now: number): number {
  if (state.since === null) return Math.max(1, Math.ceil(1000 / state.rate));
  const nextAt = state.since + (state.accounted * 1000) / state.rate;
  return Math.max(1, Math.ceil(nextAt - now));
}

/**
 * Real requests per second to a release, from readings of its cumulative
 * request counter over the last `spanMs`. Null until two readings at least
 * `minSpanMs` apart exist: the load runs while the rate is unknown, as
 * "no evidence yet" is exactly when it is wanted.
 */
export interface CounterReading {
  at: number;
  requests: number;
}

export function realRate(readings: readonly CounterReading[], minSpanMs = 500): number | null {
  const first = readings[0];
  const last = readings.at(-1);
  if (first === undefined || last === undefined) return null;
  const span = last.at - first.at;
  if (span < minSpanMs) return null;
  return (Math.max(0, last.requests - first.requests) * 1000) / span;
}

/**
 * Adds a reading and forgets those older than `spanMs` (keeping one at or
 * before the span's start, so the rate covers the whole span). A counter that
 * went down was reset (a restarted router): the readings start over.
 */
export function addReading(
  readings: readonly CounterReading[],
  reading: CounterReading,
  spanMs: number,
): CounterReading[] {
  const last = readings.at(-1);
  if (last !== undefined && reading.requests < last.requests) return [reading];
  const all = [...readings, reading];
  let start = 0;
  while (start + 1 < all.length && (all[start + 1] as CounterReading).at <= reading.at - spanMs) start++;
  return all.slice(start);
}
