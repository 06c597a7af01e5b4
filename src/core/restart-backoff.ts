/**
 * How long to wait before restarting a crashed instance: 500 ms, 1 s, 2 s,
 * 4 s ... capped at 30 s, and back to the start once an instance has stayed
 * up for a minute (it was healthy for a while; this crash is news, not the
 * same crash loop). Pure: the controller owns the timers and decides which
 * instances are worth restarting.
 */
export interface RestartBackoffPolicy {
  initialMs: number;
  maxMs: number;
  /** An instance that ran at least this long restarts as if for the first time. */
  resetAfterMs: number;
}

export const DEFAULT_RESTART_BACKOFF: RestartBackoffPolicy = { initialMs: 500, maxMs: 30_000, resetAfterMs: 60_000 };

/** Delay before restart number `attempt` (0 for the first restart after a crash). */
export function nextRestartDelay(attempt: number, policy: RestartBackoffPolicy = DEFAULT_RESTART_BACKOFF): number {
  const exponent = Math.max(0, Math.floor(attempt));
  // Clamp the exponent so a very long crash loop cannot reach Infinity.
  return Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(exponent, 30));
}

/**
 * The attempt number for the restart after an exit: one more than the last
 * one, or 0 when the instance had been up for `resetAfterMs` or longer.
 * `previousAttempt` is null when the instance has never been restarted.
 */
export function nextRestartAttempt(
  previousAttempt: number | null,
  upForMs: number,
  policy: RestartBackoffPolicy = DEFAULT_RESTART_BACKOFF,
): number {
  if (previousAttempt === null || upForMs >= policy.resetAfterMs) return 0;
  return previousAttempt + 1;
}
