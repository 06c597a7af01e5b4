import type { Clock, ClockTimer } from '../core/clock.js';

interface Pending {
  at: number;
  seq: number;
  run: () => void;
  cancelled: boolean;
}

/**
 * A clock that moves only when told: `advance(ms)` runs every timer that
 * falls due, in order, and lets the promise chains they start settle before
 * the next one. Logic tests over the fakes use it instead of sleeping, so a
 * deploy with a 10-minute scale-down delay is tested in milliseconds.
 */
export class ManualClock implements Clock {
  private current: number;
  private seq = 0;
  private readonly timers: Pending[] = [];

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  schedule(callback: () => void, ms: number): ClockTimer {
    const pending: Pending = { at: this.current + Math.max(0, ms), seq: this.seq++, run: callback, cancelled: false };
    this.timers.push(pending);
    return {
      cancel: () => {
        pending.cancelled = true;
      },
    };
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortReason(signal));
        return;
      }
      const timer = this.schedule(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = (): void => {
        timer.cancel();
        reject(abortReason(signal));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Timers not yet run nor cancelled. */
  pendingTimers(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  /** Moves time forward by `ms`, running each timer at its own time, then settles. */
  async advance(ms: number): Promise<void> {
    const target = this.current + Math.max(0, ms);
    await settle();
    for (;;) {
      const next = this.nextDue(target);
      if (!next) break;
      this.current = Math.max(this.current, next.at);
      next.cancelled = true;
      next.run();
      await settle();
    }
    this.current = target;
    await settle();
  }

  /**
   * Advances in steps of `stepMs` until `done()` holds, failing after
   * `limitMs` of clock time (not wall time): a logic test's "eventually".
   */
  async advanceUntil(done: () => boolean, options: { stepMs?: number; limitMs?: number } = {}): Promise<void> {
    const step = options.stepMs ?? 100;
    const limit = this.current + (options.limitMs ?? 3_600_000);
    await settle();
    while (!done()) {
      if (this.current >= limit)
        throw new Error(`ManualClock: condition not reached within ${options.limitMs ?? 3_600_000} ms of clock time`);
      await this.advance(step);
    }
  }

  private nextDue(target: number): Pending | undefined {
    let best: Pending | undefined;
    for (const timer of this.timers) {
      if (timer.cancelled || timer.at > target) continue;
      if (!best || timer.at < best.at || (timer.at === best.at && timer.seq < best.seq)) best = timer;
    }
    if (best) this.timers.splice(this.timers.indexOf(best), 1);
    // Drop cancelled timers now and then so a long test does not accumulate them.
    if (this.timers.length > 1024) {
      for (let i = this.timers.length - 1; i >= 0; i--) if (this.timers[i]?.cancelled) this.timers.splice(i, 1);
    }
    return best;
  }
}

/**
 * Lets promise chains started by a timer run to their next wait. A few turns
 * of the event loop (setImmediate) rather than microtasks alone, so work that
 * hops through an immediate or a resolved I/O callback settles too.
 */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new Error(typeof reason === 'string' ? reason : 'aborted');
}
