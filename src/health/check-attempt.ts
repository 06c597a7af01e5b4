import type { CheckResult } from './index.js';

/** What a check's code reports through: its one result, and the time since it began. */
export interface CheckAttempt {
  /** The first call gives the result; later calls (an error after a response, the timeout) do nothing. */
  readonly finish: (ok: boolean, detail: string, answered?: boolean) => void;
  /** Milliseconds since the check began, rounded. */
  readonly elapsed: () => number;
}

export interface CheckTimeout {
  ms: number;
  /** The result's detail when the timeout comes first. */
  detail: string;
  /** Runs before the timeout's result, e.g. to kill a command's process group. */
  onTimeout?: () => void;
}

/**
 * What every kind of check shares: events race to give the result (an
 * answer, a socket error, the timeout), only the first counts, and whatever
 * the check opened is released once it is known. `run` starts the check and
 * returns that release (destroy the socket, the session, the pipes). Never
 * rejects: a check's failure is a result.
 */
export function checkAttempt(timeout: CheckTimeout, run: (attempt: CheckAttempt) => () => void): Promise<CheckResult> {
  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started);
  return new Promise<CheckResult>((resolve) => {
    let settled = false;
    let release: (() => void) | null = null;
    const finish = (ok: boolean, detail: string, answered = true): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      release?.();
      resolve({ ok, detail, durationMs: elapsed(), ...(answered ? {} : { answered: false }) });
    };
    const timer = setTimeout(() => {
      timeout.onTimeout?.();
      finish(false, timeout.detail);
    }, timeout.ms);
    try {
      release = run({ finish, elapsed });
    } catch (error) {
      finish(false, `cannot run check: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    // A check that finished while it was being started is released now.
    if (settled) release();
  });
}
