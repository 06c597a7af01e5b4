import { judgeAgainstBaseline, type JudgeOptions } from '../core/analysis/baseline-judge.js';
import {
  describeSynthetic,
  mergeTraffic,
  type SyntheticTally,
  type WindowTraffic,
} from '../core/analysis/synthetic-traffic.js';
import { estimatePercentile, subtractSnapshots } from '../core/latency-histogram.js';
import type { ReleaseCounters } from '../router/index.js';
import {
  describeError,
  windowKey,
  type MeasurementContext,
  type MeasurementResult,
  type MetricProvider,
} from './index.js';

/**
 * Metrics from the proxy's own per-release counters (`Router.counters()`),
 * over the analysis window: each measurement is the change in the counters
 * since the window began, so a step judges the traffic it saw, not the
 * canary's whole life. Counters are cumulative, so the provider keeps the
 * snapshot taken when the window began (`beginWindow`, else the first
 * measure) per window.
 *
 * - error-rate: (5xx + proxy errors) / responses, 0..1, where responses are
 *   every status class plus proxy errors (502/503 made by the proxy).
 * - latency-p50/p95/p99: ms, estimated from the histogram buckets of the
 *   window (linear inside the bucket, as Prometheus' histogram_quantile).
 * - request-count: requests routed to the canary in the window (0 is a value).
 * - baseline: the statistical judge of canary vs stable over the window
 *   (core/analysis/baseline-judge.ts): pass → 1, fail → 0 (the reasons are in
 *   `message`). Too few samples to judge is an `error`, like a window with no
 *   requests for error-rate: it counts towards consecutive_error_limit while
 *   traffic builds up, instead of failing (or passing) a canary on no evidence.
 *
 * A window with no responses is an error ("no requests yet") for error-rate
 * and latency, for the same reason.
 *
 * When the window has a synthetic load (a template's `load:`), error-rate and
 * latency count its answers with the real ones, and the result says how many
 * were synthetic. request-count and baseline stay real traffic only: one
 * counts users, the other compares what users got from canary and stable.
 */
export type BuiltinMetric = 'error-rate' | 'latency-p50' | 'latency-p95' | 'latency-p99' | 'request-count' | 'baseline';

export interface BuiltinProviderDeps {
  counters: () => ReleaseCounters[];
  /** Takes a reading now before a measurement, for a router in another process. */
  refreshCounters?: (() => Promise<void>) | undefined;
  /** Options of the baseline judge; its defaults otherwise. */
  judgeOptions?: Partial<JudgeOptions>;
}

/** Windows kept when nobody calls endWindow (a crashed run): the oldest are dropped. */
const MAX_WINDOWS = 256;

const QUANTILES: Partial<Record<BuiltinMetric, number>> = {
  'latency-p50': 0.5,
  'latency-p95': 0.95,
  'latency-p99': 0.99,
};

interface WindowStart {
  canary: ReleaseCounters | null;
  stable: ReleaseCounters | null;
}

export class BuiltinProvider implements MetricProvider {
  readonly description: string;
  private readonly windows = new Map<string, WindowStart>();

  constructor(
    readonly metric: BuiltinMetric,
    private readonly deps: BuiltinProviderDeps,
  ) {
    this.description = `builtin ${metric}`;
  }

  beginWindow(context: MeasurementContext): void {
    this.remember(windowKey(context), this.snapshot(context));
  }

  endWindow(context: MeasurementContext): void {
    this.windows.delete(windowKey(context));
  }

  async measure(context: MeasurementContext): Promise<MeasurementResult> {
    try {
      const missing = this.metric === 'baseline' ? missingForBaseline(context) : null;
      if (missing !== null) return { error: missing };
      const key = windowKey(context);
      const start = this.windows.get(key);
      await this.deps.refreshCounters?.();
      const now = this.snapshot(context);
      if (start === undefined) {
        // No beginWindow (a restarted controller): the window starts now, with nothing in it yet.
        this.remember(key, now);
        return { error: 'no requests yet: the window starts with this measurement' };
      }
      const canary = trafficSince(now.canary, start.canary);
      if (this.metric === 'baseline') return await this.judge(context, canary, trafficSince(now.stable, start.stable));
      const synthetic = this.metric === 'request-count' ? null : (context.synthetic?.() ?? null);
      return withSynthetic(
        measureCanary(this.metric, mergeTraffic(canary, synthetic), context.canaryReleaseId),
        synthetic,
      );
    } catch (error) {
      return { error: describeError(error) };
    }
  }

  private async judge(
    context: MeasurementContext,
    canary: WindowTraffic,
    stable: WindowTraffic,
  ): Promise<MeasurementResult> {
    const samples = context.latencySamples ?? (() => []);
    const [canaryLatencies, baselineLatencies] = await Promise.all([
      samples(context.service, context.canaryReleaseId),
      samples(context.service, context.stableReleaseId ?? ''),
    ]);
    const judgement = judgeAgainstBaseline({
      canary: {
        latenciesMs: canaryLatencies,
        requests: canary.responses,
        errors: canary.errors,
      },
      baseline: {
        latenciesMs: baselineLatencies,
        requests: stable.responses,
        errors: stable.errors,
      },
      options: this.deps.judgeOptions,
    });
    const reasons = judgement.reasons.join('; ');
    if (judgement.verdict === 'inconclusive') return { error: `not enough data to judge yet: ${reasons}` };
    return { value: judgement.verdict === 'pass' ? 1 : 0, message: `${judgement.verdict}: ${reasons}` };
  }

  private snapshot(context: MeasurementContext): WindowStart {
    const all = this.deps.counters();
    const find = (releaseId: string | null) =>
      releaseId === null ? null : (all.find((c) => c.service === context.service && c.releaseId === releaseId) ?? null);
    return { canary: find(context.canaryReleaseId), stable: find(context.stableReleaseId) };
  }

  private remember(key: string, start: WindowStart): void {
    this.windows.delete(key);
    this.windows.set(key, start);
    if (this.windows.size > MAX_WINDOWS) {
      const oldest = this.windows.keys().next().value;
      if (oldest !== undefined) this.windows.delete(oldest);
    }
  }
}

function missingForBaseline(context: MeasurementContext): string | null {
  if (context.stableReleaseId === null) return 'no stable release to compare the canary with';
  if (context.latencySamples === undefined) return 'no latency samples: the router does not sample request latencies';
  return null;
}

function measureCanary(metric: BuiltinMetric, canary: WindowTraffic, releaseId: string): MeasurementResult {
  if (metric === 'request-count')
    return { value: canary.requests, message: `${canary.requests} requests to ${releaseId} in the window` };
  if (canary.responses === 0) return { error: `no requests yet: ${releaseId} has answered none in this window` };
  if (metric === 'error-rate') {
    return {
      value: canary.errors / canary.responses,
      message: `${canary.errors} errors in ${canary.responses} responses`,
    };
  }
  const quantile = QUANTILES[metric];
  if (quantile === undefined) return { error: `unknown builtin metric ${metric}` };
  if (canary.latency === null || canary.latency.count === 0)
    return { error: `no requests yet: no latency recorded for ${releaseId} in this window` };
  const ms = estimatePercentile(canary.latency, quantile);
  return { value: ms, message: `${metric} ${ms.toFixed(1)} ms over ${canary.latency.count} responses` };
}

/** Says in the result how much of it was synthetic, once the load has had an answer. */
function withSynthetic(result: MeasurementResult, synthetic: SyntheticTally | null): MeasurementResult {
  if (synthetic === null || synthetic.responses === 0) return result;
  const note = describeSynthetic(synthetic);
  if ('error' in result) return { error: `${result.error} (${note})` };
  return {
    ...result,
    message: result.message ? `${result.message} (${note})` : note,
    synthetic: { requests: synthetic.requests, failed: synthetic.failed },
  };
}

function responsesOf(counters: ReleaseCounters): number {
  const s = counters.status;
  return s['1xx'] + s['2xx'] + s['3xx'] + s['4xx'] + s['5xx'] + s.error;
}

/**
 * The traffic between two snapshots of one release. No snapshot at the start
 * means the release had no counters yet (not routed): all of it is in the
 * window. Counters that went down were reset (a restarted server): everything
 * since the reset is counted.
 */
function trafficSince(now: ReleaseCounters | null, start: ReleaseCounters | null): WindowTraffic {
  if (now === null) return { requests: 0, responses: 0, errors: 0, latency: null };
  const reset = start === null || responsesOf(now) < responsesOf(start) || now.requests < start.requests;
  const base = reset ? null : start;
  const errors = (c: ReleaseCounters) => c.status['5xx'] + c.status.error;
  return {
    requests: now.requests - (base?.requests ?? 0),
    responses: responsesOf(now) - (base === null ? 0 : responsesOf(base)),
    errors: errors(now) - (base === null ? 0 : errors(base)),
    latency: base === null ? now.latency : subtractSnapshots(now.latency, base.latency),
  };
}
