import type { SyntheticTally } from '../core/analysis/synthetic-traffic.js';

/**
 * The metric provider port: where an analysis metric's value comes from. The
 * analysis run (core/analysis/analysis-run.ts) decides what a value means;
 * a provider only fetches it. Adapters: builtin (the proxy's own counters),
 * prometheus, web (any JSON endpoint) and command (a script), built from
 * config by provider-factory.ts.
 *
 * `measure` never throws and never rejects: anything that goes wrong (an
 * unreachable server, a timeout, a query with no data) is an `{ error }`,
 * which the run counts towards `consecutive_error_limit`. The caller adds the
 * time and hands the result to `recordMeasurement`.
 */
export interface MeasurementContext {
  service: string;
  canaryReleaseId: string;
  /** The release the canary is compared with; null when there is none (nothing served before). */
  stableReleaseId: string | null;
  /** When the analysis window began (epoch ms): the start of the step, or of the rollout for background analysis. */
  windowStart: number;
  /**
   * Sampled request latencies (ms) of a release over the current window, for
   * the builtin `baseline` judge; the proxy's reservoir sampling provides it.
   * Without it `baseline` measures an error.
   */
  latencySamples?: (service: string, releaseId: string) => number[] | Promise<number[]>;
  /** Aborts a measurement in flight (the step ended, the server is stopping). */
  signal?: AbortSignal;
  /**
   * What the window's synthetic load (a template's `load:`) got back so far,
   * when one runs for this window: the builtin error-rate and latency metrics
   * count it with the real traffic, and say so.
   */
  synthetic?: () => SyntheticTally;
}

export type MeasurementResult =
  /**
   * `message` says what the value is made of ("3 errors in 120 responses"), for the release history;
   * `synthetic`, how many of those were the analysis' own synthetic requests.
   */
  { value: unknown; message?: string; synthetic?: { requests: number; failed: number } } | { error: string };

export interface MetricProvider {
  /** What the provider reads, for logs: `builtin error-rate`, `prometheus http://...`. */
  readonly description: string;
  measure(context: MeasurementContext): Promise<MeasurementResult>;
  /**
   * Optional: a window begins (call it when the run starts, before the first
   * measure). Providers that compute deltas (builtin) take their starting
   * snapshot here; without the call they take it at the first measure.
   */
  beginWindow?(context: MeasurementContext): void;
  /** Optional: the window ended; the provider forgets what it kept for it. */
  endWindow?(context: MeasurementContext): void;
}

/** The key of a window: one run of one metric sees one (service, canary, stable, window start). */
export function windowKey(context: MeasurementContext): string {
  return `${context.service}\0${context.canaryReleaseId}\0${context.stableReleaseId ?? ''}\0${context.windowStart}`;
}

/** An error message for a caught value, without a stack. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
    return typeof code === 'string' && !error.message.includes(code)
      ? `${error.message}${cause} (${code})`
      : `${error.message}${cause}`;
  }
  return String(error);
}

/**
 * Text a provider quotes from outside (a response body, a command's output,
 * Prometheus' error) with its control characters written out as `\u001b`.
 * The text ends up in event messages that `cutover deploy` and `status`
 * print to an operator's terminal: a raw ESC from a metric endpoint could
 * clear the screen, retitle the window or set the clipboard (OSC 52), and
 * a carriage return or a bidi override could make a failed line read as a
 * passed one. Newlines and tabs stay.
 */
export function printable(text: string): string {
  return text.replace(
    // eslint-disable-next-line no-control-regex -- these are exactly what is taken out
    /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
