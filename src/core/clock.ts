/**
 * The clock port. Everything that waits (health intervals, analysis steps,
 * scale-down delays, drain timeouts) asks a Clock, so the controller and the
 * fakes run in tests on a manual clock that moves only when the test says,
 * without sleeping. The core itself stays pure: it takes `now` as a value.
 */
export interface ClockTimer {
  /** Cancels the callback; a no-op once it ran. */
  cancel(): void;
}

export interface Clock {
  now(): number;
  /**
   * Runs `callback` once after `ms`. The real clock's timers never keep the
   * process alive on their own (a server always has its listening sockets).
   */
  schedule(callback: () => void, ms: number): ClockTimer;
  /** Resolves after `ms`; rejects with the signal's reason when it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}
