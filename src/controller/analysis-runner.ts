import { systemClock } from '../clock/system-clock.js';
import type { Clock, ClockTimer } from '../core/clock.js';
import type { MeasurementContext, MetricProvider } from '../analysis/index.js';
import type { SyntheticLoadHandle, SyntheticLoadStarter } from '../analysis/synthetic-load.js';
import type { AnalysisMetricConfig, AnalysisTemplateConfig } from '../config/types.js';
import {
  combineRuns,
  endRun,
  nextDueAt,
  recordMeasurement,
  startRun,
  type AnalysisRunState,
  type RunPhase,
} from '../core/analysis/analysis-run.js';
import { describeSynthetic, tallySince } from '../core/analysis/synthetic-traffic.js';
import { CutoverError } from '../core/errors.js';
import type { EventLog } from './event-log.js';

/**
 * Runs analysis templates against a release: one timer loop per metric,
 * each measurement through the pure run state machine (core/analysis), every
 * measurement recorded as an event of the operation (value, verdict, time),
 * and a callback the moment a run fails or becomes inconclusive.
 *
 * A template with `load:` also starts a synthetic load on the window's
 * release (analysis/synthetic-load.ts) for as long as runs of that window are
 * active: the last run to end (verdict, conclude or stop) stops it. One load
 * per release at a time; a second window on the same release shares it and
 * sees its tally from its own start.
 */
export type MeasureContext = MeasurementContext;

/** Builds the provider of one metric for one run (providers like builtin keep the window's starting snapshot). */
export type ProviderFor = (metric: AnalysisMetricConfig) => MetricProvider;

export type AnalysisScope = 'step' | 'background' | 'post-promotion';

/**
 * A template may run on a step and in the background at once (issue 20, item 12: the same line twice). The
 * step's measurements are the ones a user waits on and stay unlabelled; the others say which run they are.
 */
const SCOPE_LABEL: Record<AnalysisScope, string> = {
  step: '',
  background: ' (background)',
  'post-promotion': ' (after the switch)',
};

interface ActiveRun {
  scope: AnalysisScope;
  template: string;
  metric: AnalysisMetricConfig;
  provider: MetricProvider;
  state: AnalysisRunState;
  timer: ClockTimer | null;
  measuring: boolean;
  context: MeasureContext;
  /** The shared load this run keeps going, if its window has one. */
  load: ActiveLoad | null;
}

interface ActiveLoad {
  releaseId: string;
  template: string;
  handle: SyntheticLoadHandle;
  /** Active runs that keep it going. */
  users: number;
}

export interface AnalysisVerdict {
  scope: AnalysisScope;
  phase: Exclude<RunPhase, 'Running' | 'Successful'>;
  message: string;
}

export class AnalysisRunner {
  private readonly runs: ActiveRun[] = [];
  /** Runs that reached a verdict on their own, kept until their scope is concluded or stopped. */
  private readonly finished: ActiveRun[] = [];
  private readonly loads = new Map<string, ActiveLoad>();
  private stopped = false;

  constructor(
    private readonly templates: Record<string, AnalysisTemplateConfig>,
    private readonly providerFor: ProviderFor,
    private readonly events: EventLog,
    private readonly labels: { operationId: string; service: string; releaseId: string },
    private readonly onVerdict: (verdict: AnalysisVerdict) => void,
    /** The clock of the measurement intervals (or only its `now`, timers from the system clock). */
    time: Clock | (() => number) = systemClock,
    /** Starts a template's synthetic `load:`; without it such templates run on real traffic only (and say so). */
    private readonly startLoad: SyntheticLoadStarter | null = null,
  ) {
    this.clock = typeof time === 'function' ? { ...systemClock, now: time } : time;
  }

  private readonly clock: Clock;

  private now(): number {
    return this.clock.now();
  }

  start(scope: AnalysisScope, templateNames: string[], windowContext: MeasureContext): void {
    const { load, context } = this.withLoad(scope, templateNames, windowContext);
    // The window holds the load while its runs start, so a start that adds no run (or throws) still stops it.
    if (load) load.users++;
    try {
      for (const name of templateNames) {
        const template = this.templates[name];
        if (!template)
          throw new CutoverError(
            'INTERNAL',
            `analysis template ${name} is not defined (the config check should have refused this)`,
          );
        for (const metric of template.metrics) {
          const state = startRun(
            {
              name: `${name}/${metric.name}`,
              intervalMs: metric.intervalMs,
              count: metric.count,
              initialDelayMs: metric.initialDelayMs,
              successCondition: metric.successCondition ?? undefined,
              failureCondition: metric.failureCondition ?? undefined,
              failureLimit: metric.failureLimit,
              inconclusiveLimit: metric.inconclusiveLimit,
              consecutiveErrorLimit: metric.consecutiveErrorLimit,
            },
            this.now(),
          );
          const provider = this.providerFor(metric);
          provider.beginWindow?.(context);
          const run: ActiveRun = {
            scope,
            template: name,
            metric,
            provider,
            state,
            timer: null,
            measuring: false,
            context,
            load,
          };
          if (load) load.users++;
          this.runs.push(run);
          this.schedule(run);
        }
      }
    } finally {
      if (load) this.releaseLoad(load);
    }
  }

  /** Ends the runs of a scope now (the step is over) and returns their combined phase. */
  conclude(scope: AnalysisScope): RunPhase {
    return this.concludeExplained(scope).phase;
  }

  /** As conclude, with why: "<template>/<metric>: <reason>" of each run in the combined phase. */
  concludeExplained(scope: AnalysisScope): { phase: RunPhase; message: string } {
    const runs = this.runs.filter((r) => r.scope === scope);
    for (const run of runs) {
      this.clear(run);
      if (run.state.phase === 'Running') run.state = endRun(run.state, this.now());
      this.recordRunEnd(run);
    }
    this.remove(runs);
    const done = this.takeFinished(scope);
    const all = [...done, ...runs];
    if (all.length === 0) return { phase: 'Successful', message: '' };
    const phase = combineRuns(all.map((r) => r.state));
    const message = all
      .filter((r) => r.state.phase === phase)
      .map((r) => `${r.state.config.name}: ${r.state.message}`)
      .join('; ');
    return { phase, message };
  }

  stop(scope: AnalysisScope | 'all'): void {
    const runs = this.runs.filter((r) => scope === 'all' || r.scope === scope);
    for (const run of runs) this.clear(run);
    this.remove(runs);
    this.takeFinished(scope);
    if (scope === 'all') this.stopped = true;
  }

  /** Every run's state (for the operation's persisted state and `status`). */
  snapshot(): { scope: AnalysisScope; template: string; state: AnalysisRunState }[] {
    return this.runs.map((r) => ({ scope: r.scope, template: r.template, state: r.state }));
  }

  /**
   * The synthetic load of a window whose templates ask for one (the first
   * template listed with `load:` sets it), and the context that lets the
   * window's providers read its tally from now on.
   */
  private withLoad(
    scope: AnalysisScope,
    templateNames: string[],
    context: MeasureContext,
  ): { load: ActiveLoad | null; context: MeasureContext } {
    const template = templateNames.map((name) => this.templates[name]).find((t) => t?.load !== undefined);
    if (template?.load === undefined || this.stopped) return { load: null, context };
    const config = template.load;
    const releaseId = context.canaryReleaseId;
    if (this.startLoad === null || releaseId === '') {
      this.events.record({
        ...this.labels,
        type: 'analysis.load-skipped',
        message: `synthetic load of ${template.name} not run (${scope}): this analysis has no release instances to send it to`,
        data: { scope, template: template.name },
        level: 'warn',
      });
      return { load: null, context };
    }
    let load = this.loads.get(releaseId);
    // A window that starts the load sees all of it (its first request leaves as it starts); one that joins, what comes after.
    const joined = load !== undefined;
    if (load === undefined) {
      load = {
        releaseId,
        template: template.name,
        handle: this.startLoad({ service: context.service, releaseId }, config),
        users: 0,
      };
      this.loads.set(releaseId, load);
      this.events.record({
        ...this.labels,
        type: 'analysis.load-started',
        message: `synthetic load of ${template.name} (${scope}): ${config.rate} req/s ${config.method} ${config.path} straight to ${releaseId}'s instances while its real traffic is below ${config.onlyBelow} req/s`,
        data: { scope, template: template.name, releaseId, rate: config.rate, path: config.path },
      });
    }
    const handle = load.handle;
    const start = joined ? handle.tally() : null;
    return {
      load,
      context: { ...context, synthetic: () => (start === null ? handle.tally() : tallySince(handle.tally(), start)) },
    };
  }

  private releaseLoad(load: ActiveLoad): void {
    load.users--;
    if (load.users > 0 || this.loads.get(load.releaseId) !== load) return;
    this.loads.delete(load.releaseId);
    void load.handle.stop();
    const summary = load.handle.summary();
    const extras = [
      summary.dropped > 0 ? `${summary.dropped} not sent (instances slow or unhealthy)` : '',
      summary.heldMs > 0 ? `held ${Math.round(summary.heldMs / 1000)} s while real traffic was enough` : '',
      summary.lastError ? `last failure: ${summary.lastError}` : '',
    ].filter(Boolean);
    this.events.record({
      ...this.labels,
      type: 'analysis.load-stopped',
      message: `synthetic load of ${load.template} to ${load.releaseId} stopped: ${describeSynthetic(summary)}${extras.length ? `; ${extras.join('; ')}` : ''}`,
      data: { template: load.template, releaseId: load.releaseId, ...summary },
      level: summary.failed > 0 ? 'warn' : 'info',
    });
  }

  private schedule(run: ActiveRun): void {
    const due = nextDueAt(run.state);
    if (due === null || this.stopped) return;
    run.timer = this.clock.schedule(
      () => {
        void this.tick(run);
      },
      Math.max(0, due - this.now()),
    );
  }

  private async tick(run: ActiveRun): Promise<void> {
    run.timer = null;
    if (!this.runs.includes(run) || run.measuring) return;
    run.measuring = true;
    let input: { at: number; value: unknown } | { at: number; error: string };
    let detail = '';
    let synthetic: { requests: number; failed: number } | undefined;
    try {
      const result = await run.provider.measure(run.context);
      input = 'error' in result ? { at: this.now(), error: result.error } : { at: this.now(), value: result.value };
      if ('message' in result && result.message) detail = result.message;
      if ('synthetic' in result) synthetic = result.synthetic;
    } catch (error) {
      input = { at: this.now(), error: (error as Error).message };
    } finally {
      run.measuring = false;
    }
    if (!this.runs.includes(run)) return;
    const before = run.state.phase;
    run.state = recordMeasurement(run.state, input);
    const measurement = run.state.measurements.at(-1);
    if (measurement) {
      this.events.record({
        ...this.labels,
        type: 'analysis.measurement',
        message: `${run.state.config.name}${SCOPE_LABEL[run.scope]}: ${formatValue(measurement.value)} → ${measurement.phase}${measurement.message ? ` (${measurement.message})` : ''}${detail ? `; ${detail}` : ''}`,
        data: {
          scope: run.scope,
          template: run.template,
          metric: run.metric.name,
          value: measurement.value,
          phase: measurement.phase,
          at: measurement.at,
          detail: detail || undefined,
          synthetic,
        },
        level: measurement.phase === 'failed' ? 'warn' : 'info',
      });
    }
    if (run.state.phase !== before && run.state.phase !== 'Running') {
      this.recordRunEnd(run);
      this.remove([run]);
      this.finished.push(run);
      if (run.state.phase === 'Failed' || run.state.phase === 'Inconclusive') {
        this.onVerdict({
          scope: run.scope,
          phase: run.state.phase,
          message: `${run.state.config.name}: ${run.state.message || run.state.phase}`,
        });
      }
      return;
    }
    this.schedule(run);
  }

  private recordRunEnd(run: ActiveRun): void {
    this.events.record({
      ...this.labels,
      type: `analysis.${run.state.phase.toLowerCase()}`,
      message: `analysis ${run.state.config.name} (${run.scope}) ${run.state.phase}${run.state.message ? `: ${run.state.message}` : ''}`,
      data: {
        scope: run.scope,
        template: run.template,
        metric: run.metric.name,
        phase: run.state.phase,
        measurements: run.state.measurements.length,
      },
      level: run.state.phase === 'Failed' ? 'error' : 'info',
    });
  }

  private takeFinished(scope: AnalysisScope | 'all'): ActiveRun[] {
    const taken = this.finished.filter((r) => scope === 'all' || r.scope === scope);
    for (const run of taken) this.finished.splice(this.finished.indexOf(run), 1);
    return taken;
  }

  private clear(run: ActiveRun): void {
    run.timer?.cancel();
    run.timer = null;
  }

  private remove(runs: ActiveRun[]): void {
    for (const run of runs) {
      const index = this.runs.indexOf(run);
      if (index >= 0) this.runs.splice(index, 1);
      run.provider.endWindow?.(run.context);
      if (run.load) {
        this.releaseLoad(run.load);
        run.load = null;
      }
    }
  }
}

function formatValue(value: unknown): string {
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toPrecision(4);
  if (value === null || value === undefined) return 'no value';
  return JSON.stringify(value).slice(0, 120);
}
