import { Agent, type Dispatcher } from 'undici';
import type { AnalysisLoadConfig } from '../config/types.js';
import {
  addReading,
  holdSchedule,
  nextTickIn,
  realRate,
  startSchedule,
  tickSchedule,
  type CounterReading,
  type LoadScheduleState,
} from '../core/analysis/synthetic-load-schedule.js';
import type { SyntheticTally } from '../core/analysis/synthetic-traffic.js';
import type { Clock, ClockTimer } from '../core/clock.js';
import { LatencyHistogram } from '../core/latency-histogram.js';
import type { Router, Upstream } from '../router/index.js';
import { describeError } from './index.js';

/**
 * The synthetic load of an analysis window (a template's `load:`): requests
 * at a fixed rate straight to the new release's instances, while the real
 * traffic the router counts for that release is below `only_below` req/s.
 *
 * Straight to the instances, never through the proxy: the proxy's counters,
 * `/metrics` and the dashboard's shares stay what users did. Every request
 * carries `X-Cutover-Synthetic: 1` so an app can leave it out of its own
 * metrics. Bounded on every side: the rate (≤ 50/s, validated), requests
 * outstanding (what is due while they hang is dropped), a timeout per
 * request, and `stop()` aborts what is in flight and sends nothing more.
 */
export const SYNTHETIC_HEADER = 'x-cutover-synthetic';

/** How often the real traffic to the release is read, and over how long its rate is taken. */
const REAL_RATE_CHECK_MS = 1_000;
const REAL_RATE_SPAN_MS = 3_000;
/** A response body is read and thrown away up to this size; past it the connection is dropped. */
const MAX_DISCARDED_BODY_BYTES = 256 * 1024;

export interface SyntheticLoadDeps {
  /** The release's instances that may take a request now (the healthy ones). */
  targets: () => Upstream[];
  /** The router's cumulative request counter of the release (real traffic); null when it has none yet. */
  realRequests: () => number | null;
  /** Takes a fresh reading of the router's counters (a router in another process). */
  refreshCounters?: (() => Promise<void>) | undefined;
  clock: Clock;
}

/** What a load did, for the event that records its end. */
export interface LoadSummary {
  requests: number;
  responses: number;
  failed: number;
  /** Due while `maxInFlight` requests were outstanding, or no instance was healthy: not sent. */
  dropped: number;
  /** Time spent held because real traffic was enough. */
  heldMs: number;
  /** The last failure without an answer (refused, timed out), if any. */
  lastError: string | null;
}

export interface SyntheticLoadHandle {
  tally(): SyntheticTally;
  summary(): LoadSummary;
  /** Stops at once (no request is sent after it returns); resolves when the connections are closed. */
  stop(): Promise<void>;
}

export type SyntheticLoadStarter = (
  target: { service: string; releaseId: string },
  config: AnalysisLoadConfig,
) => SyntheticLoadHandle;

/** The starter the controller hands its analysis runners: instances from the supervisor, real traffic from the router. */
export function syntheticLoadStarter(deps: {
  router: Router;
  healthyUpstreams: (releaseId: string) => Upstream[];
  clock: Clock;
}): SyntheticLoadStarter {
  const { router } = deps;
  return (target, config) => {
    const load = new SyntheticLoad(config, {
      targets: () => deps.healthyUpstreams(target.releaseId),
      realRequests: () =>
        router.counters().find((c) => c.service === target.service && c.releaseId === target.releaseId)?.requests ??
        null,
      refreshCounters: router.refreshCounters === undefined ? undefined : () => router.refreshCounters!(),
      clock: deps.clock,
    });
    load.start();
    return load;
  };
}

export class SyntheticLoad implements SyntheticLoadHandle {
  readonly maxInFlight: number;
  private readonly abort = new AbortController();
  private readonly agent: Agent;
  private readonly latency = new LatencyHistogram();
  private schedule: LoadScheduleState;
  private readings: CounterReading[] = [];
  private held = false;
  private heldSince = 0;
  private heldMs = 0;
  private inFlight = 0;
  private requests = 0;
  private responses = 0;
  private failed = 0;
  private dropped = 0;
  private lastError: string | null = null;
  private next = 0;
  private sendTimer: ClockTimer | null = null;
  private checkTimer: ClockTimer | null = null;
  private checking = false;
  private stopped = false;

  constructor(
    private readonly config: AnalysisLoadConfig,
    private readonly deps: SyntheticLoadDeps,
  ) {
    // Enough for the rate at a few hundred ms per answer; a slower release gets fewer requests.
    this.maxInFlight = Math.min(16, Math.max(2, config.rate));
    // Its own keep-alive pool, so stop() can close exactly these connections.
    this.agent = new Agent({
      connections: this.maxInFlight,
      keepAliveTimeout: 10_000,
      connect: { timeout: config.timeoutMs },
    });
    this.schedule = startSchedule(config.rate, deps.clock.now());
  }

  start(): void {
    this.checkRealTraffic();
    this.tick();
  }

  tally(): SyntheticTally {
    return {
      requests: this.requests,
      responses: this.responses,
      failed: this.failed,
      latency: this.latency.snapshot(),
    };
  }

  summary(): LoadSummary {
    const heldNow = this.held && !this.stopped ? this.deps.clock.now() - this.heldSince : 0;
    return {
      requests: this.requests,
      responses: this.responses,
      failed: this.failed,
      dropped: this.dropped,
      heldMs: this.heldMs + heldNow,
      lastError: this.lastError,
    };
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    if (this.held) this.heldMs += this.deps.clock.now() - this.heldSince;
    this.stopped = true;
    this.sendTimer?.cancel();
    this.checkTimer?.cancel();
    this.abort.abort(new Error('the analysis window ended'));
    await this.agent.destroy().catch(() => undefined);
  }

  private tick(): void {
    this.sendTimer = null;
    if (this.stopped) return;
    const now = this.deps.clock.now();
    if (!this.held) {
      const { state, send, dropped } = tickSchedule(this.schedule, now, this.inFlight, this.maxInFlight);
      this.schedule = state;
      this.dropped += dropped;
      for (let i = 0; i < send; i++) {
        const target = this.pickTarget();
        if (target === null) {
          this.dropped += send - i;
          break;
        }
        void this.send(target);
      }
    }
    this.sendTimer = this.deps.clock.schedule(() => this.tick(), nextTickIn(this.schedule, this.deps.clock.now()));
  }

  private pickTarget(): Upstream | null {
    const targets = this.deps.targets();
    if (targets.length === 0) return null;
    this.next = (this.next + 1) % targets.length;
    return targets[this.next] ?? null;
  }

  private async send(target: Upstream): Promise<void> {
    this.inFlight++;
    this.requests++;
    const started = performance.now();
    const timeout = AbortSignal.timeout(this.config.timeoutMs);
    try {
      const response = await this.agent.request({
        origin: `http://${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`,
        path: this.config.path,
        method: this.config.method,
        headers: { [SYNTHETIC_HEADER]: '1', 'user-agent': 'cutover-analysis-load' },
        signal: AbortSignal.any([this.abort.signal, timeout]),
      });
      const ms = performance.now() - started;
      await discard(response);
      if (this.stopped) return;
      this.responses++;
      this.latency.record(ms);
      if (response.statusCode >= 500) this.failed++;
    } catch (error) {
      // Cancelled by the window's end: neither an answer nor a failure of the release.
      if (this.stopped) return;
      this.responses++;
      this.failed++;
      this.lastError = timeout.aborted
        ? `no answer from ${target.host}:${target.port} within ${this.config.timeoutMs} ms`
        : `${target.host}:${target.port}: ${describeError(error)}`;
    } finally {
      this.inFlight--;
    }
  }

  /** Reads the real traffic to the release and holds or releases the load. */
  private checkRealTraffic(): void {
    this.checkTimer = null;
    if (this.stopped) return;
    if (!this.checking) {
      this.checking = true;
      void this.readRealTraffic().finally(() => {
        this.checking = false;
      });
    }
    this.checkTimer = this.deps.clock.schedule(() => this.checkRealTraffic(), REAL_RATE_CHECK_MS);
  }

  private async readRealTraffic(): Promise<void> {
    try {
      await this.deps.refreshCounters?.();
    } catch {
      // A stale reading holds no worse than none: the rate below is judged on what the router last said.
    }
    if (this.stopped) return;
    const now = this.deps.clock.now();
    this.readings = addReading(this.readings, { at: now, requests: this.deps.realRequests() ?? 0 }, REAL_RATE_SPAN_MS);
    const rate = realRate(this.readings);
    const enough = rate !== null && rate >= this.config.onlyBelow;
    if (enough && !this.held) {
      this.held = true;
      this.heldSince = now;
      this.schedule = holdSchedule(this.schedule);
    } else if (!enough && this.held) {
      this.held = false;
      this.heldMs += now - this.heldSince;
      this.schedule = startSchedule(this.config.rate, now);
    }
  }
}

/** Reads a response body to its end (for keep-alive) without keeping it; a huge one costs the connection. */
async function discard(response: Dispatcher.ResponseData): Promise<void> {
  try {
    await response.body.dump({ limit: MAX_DISCARDED_BODY_BYTES });
  } catch {
    // The answer's status is what counts; a body cut short is not a failure of the release.
  }
}
