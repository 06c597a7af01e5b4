import { randomBytes } from 'node:crypto';
import type { AnalysisTemplateConfig } from '../config/types.js';
import { AnalysisRunner, type ProviderFor } from '../controller/analysis-runner.js';
import type { EventLog } from '../controller/event-log.js';
import { CutoverError } from '../core/errors.js';
import { DEFAULT_STICKINESS, type Flag } from './flag-model.js';
import type { FlagStore } from './flag-store.js';
import type { FlagChange, FlagService } from './flag-service.js';

/**
 * Progressive flag rollouts (`cutover flags rollout new-checkout --steps
 * 10,50,100 --pause 5m --analysis errors`): set the flag's rollout to each
 * step's percentage, hold it for the pause while the analysis templates run
 * (the same engine and templates as canary deploys), and move on. When a
 * template fails, the flag is put back exactly as it was before the rollout
 * and the reason is written to the rollout, its events and the flag's
 * history. A change to the flag by anyone else ends the rollout (`aborted`)
 * and keeps that change: a person who pressed the kill switch wins.
 *
 * Every step is persisted; a server that stops mid-rollout (gracefully or
 * not) puts the flag back when it next starts, since nobody is left watching
 * the analysis at the new percentage.
 */
export type FlagRolloutPhase = 'running' | 'succeeded' | 'failed' | 'aborted';

export interface FlagRollout {
  id: string;
  environment: string;
  flag: string;
  steps: number[];
  pauseMs: number;
  analysis: string[];
  service: string | null;
  variant: string;
  /** The step in force (-1 before the first). */
  stepIndex: number;
  phase: FlagRolloutPhase;
  /** The flag before the rollout: what a failure restores. */
  previous: Flag;
  /** The flag version the rollout wrote last; another version means someone else changed the flag. */
  lastVersion: number;
  reason: string | null;
  actor: string;
  startedAt: number;
  finishedAt: number | null;
}

export interface StartRollout {
  steps: number[];
  pauseMs: number;
  analysis: string[];
  service?: string;
  variant?: string;
  actor: string;
}

export interface FlagRolloutDeps {
  flags: FlagService;
  store: FlagStore;
  events: EventLog;
  /** The analysis templates now (a reload of cutover.yaml may change them between two rollouts). */
  templates: () => Record<string, AnalysisTemplateConfig>;
  providerFor: ProviderFor;
  /** The active release of a configured service, null when none is active; SERVICE_NOT_FOUND for an unknown name. */
  activeReleaseOf: (service: string) => string | null;
  now?: () => number;
}

interface Run {
  rollout: FlagRollout;
  abort: AbortController;
  /** Set while the runner writes the flag itself, so its own change is not taken for someone else's. */
  writing: boolean;
  done: Promise<void>;
}

/** The metrics that need two releases side by side; a flag rollout has one. */
const NEEDS_TWO_RELEASES = new Set(['baseline']);

export class FlagRolloutRunner {
  private readonly runs = new Map<string, Run>();
  private readonly unsubscribe: () => void;
  private readonly now: () => number;
  private closed = false;

  constructor(private readonly deps: FlagRolloutDeps) {
    this.now = deps.now ?? Date.now;
    this.unsubscribe = deps.flags.subscribe((change) => {
      this.onFlagChange(change);
    });
  }

  /** At server start: rollouts left running by a stopped server put their flag back. */
  recover(): void {
    for (const stored of this.deps.store.rolloutsInPhase<FlagRollout>('running')) {
      this.finish(
        stored.state,
        'aborted',
        'the server stopped during the rollout; the flag was set back to what it was before it',
        { revert: true },
      );
    }
  }

  start(environment: string, key: string, request: StartRollout): FlagRollout {
    if (this.closed) throw new CutoverError('INVALID_STATE', 'the server is stopping');
    const stored = this.deps.flags.get(environment, key);
    const running = this.activeFor(environment, key);
    if (running)
      throw new CutoverError(
        'FLAG_ROLLOUT_RUNNING',
        `flag "${key}" in ${environment} is already being rolled out by ${running.id} (step ${running.stepIndex + 1} of ${running.steps.length})`,
      );
    this.checkAnalysis(request);
    const variant =
      request.variant ?? stored.flag.rollout?.variant ?? (Object.hasOwn(stored.flag.variants, 'on') ? 'on' : null);
    if (variant === null) {
      throw new CutoverError(
        'BAD_REQUEST',
        `variant: flag "${key}" has no rollout and no "on" variant; name the variant to roll out (one of ${Object.keys(stored.flag.variants).join(', ')})`,
      );
    }
    if (!Object.hasOwn(stored.flag.variants, variant)) {
      throw new CutoverError(
        'BAD_REQUEST',
        `variant: expected one of the variants ${Object.keys(stored.flag.variants).join(', ')}, got "${variant}"`,
      );
    }
    const at = this.now();
    const rollout: FlagRollout = {
      id: `fr-${at.toString(36)}-${randomBytes(3).toString('hex')}`,
      environment,
      flag: key,
      steps: request.steps,
      pauseMs: request.pauseMs,
      analysis: request.analysis,
      service: request.service ?? null,
      variant,
      stepIndex: -1,
      phase: 'running',
      previous: stored.flag,
      lastVersion: stored.version,
      reason: null,
      actor: request.actor,
      startedAt: at,
      finishedAt: null,
    };
    this.deps.store.createRollout({
      id: rollout.id,
      environment,
      key,
      phase: 'running',
      state: rollout,
      startedAt: at,
      finishedAt: null,
    });
    this.record(
      rollout,
      'flag-rollout.started',
      `rollout of ${key} in ${environment} started by ${request.actor}: steps ${request.steps.map((s) => `${s}%`).join(', ')}, pause ${request.pauseMs} ms${request.analysis.length > 0 ? `, analysis ${request.analysis.join(', ')}` : ''}`,
    );
    const run: Run = { rollout, abort: new AbortController(), writing: false, done: Promise.resolve() };
    this.runs.set(rollout.id, run);
    run.done = this.execute(run).finally(() => {
      this.runs.delete(rollout.id);
    });
    return rollout;
  }

  get(id: string): FlagRollout {
    const live = this.runs.get(id)?.rollout;
    if (live) return live;
    const stored = this.deps.store.getRollout<FlagRollout>(id);
    if (!stored) throw new CutoverError('FLAG_ROLLOUT_NOT_FOUND', `no flag rollout ${id}`);
    return stored.state;
  }

  activeFor(environment: string, key: string): FlagRollout | null {
    for (const run of this.runs.values()) {
      if (run.rollout.environment === environment && run.rollout.flag === key) return run.rollout;
    }
    return null;
  }

  /** Stops a running rollout and puts the flag back as it was before it. */
  async abort(id: string, actor: string): Promise<FlagRollout> {
    const run = this.runs.get(id);
    if (!run) {
      const rollout = this.get(id);
      throw new CutoverError('INVALID_STATE', `flag rollout ${id} has already ended (${rollout.phase})`);
    }
    this.finish(
      run.rollout,
      'aborted',
      `aborted by ${actor}; the flag was set back to what it was before the rollout`,
      { revert: true },
    );
    run.abort.abort();
    await run.done;
    return run.rollout;
  }

  /** Server shutdown: every running rollout puts its flag back now rather than at the next start. */
  async close(): Promise<void> {
    this.closed = true;
    const runs = [...this.runs.values()];
    for (const run of runs) {
      this.finish(
        run.rollout,
        'aborted',
        'the server stopped during the rollout; the flag was set back to what it was before it',
        { revert: true },
      );
      run.abort.abort();
    }
    await Promise.all(runs.map((run) => run.done));
    this.unsubscribe();
  }

  private async execute(run: Run): Promise<void> {
    const { rollout } = run;
    try {
      for (let index = 0; index < rollout.steps.length; index++) {
        if (rollout.phase !== 'running') return;
        const percentage = rollout.steps[index]!;
        this.setPercentage(run, percentage, `step ${index + 1} of ${rollout.steps.length}`);
        rollout.stepIndex = index;
        this.persist(rollout);
        this.record(
          rollout,
          'flag-rollout.step',
          `step ${index + 1} of ${rollout.steps.length}: ${rollout.flag} on for ${percentage}% (version ${rollout.lastVersion})`,
          { step: index, percentage },
        );
        const failure = await this.hold(run);
        if (rollout.phase !== 'running') return;
        if (failure !== null) {
          this.finish(
            rollout,
            'failed',
            `analysis failed at ${percentage}%: ${failure}; the flag was set back to what it was before the rollout`,
            { revert: true },
          );
          return;
        }
      }
      this.finish(rollout, 'succeeded', null, { revert: false });
    } catch (error) {
      if (rollout.phase === 'running') {
        this.finish(
          rollout,
          'failed',
          `the rollout stopped: ${(error as Error).message}; the flag was set back to what it was before it`,
          { revert: true },
        );
      }
    }
  }

  /** Holds the step for the pause while the analysis runs; the first failure's message, or null. */
  private async hold(run: Run): Promise<string | null> {
    const { rollout } = run;
    const signal = run.abort.signal;
    if (rollout.analysis.length === 0) {
      await waitFor(rollout.pauseMs, signal);
      return null;
    }
    const releaseId = rollout.service === null ? null : this.deps.activeReleaseOf(rollout.service);
    let failed: string | null = null;
    let wake: () => void = () => {};
    const verdictArrived = new Promise<void>((resolve) => {
      wake = resolve;
    });
    const analysis = new AnalysisRunner(
      this.deps.templates(),
      this.deps.providerFor,
      this.deps.events,
      { operationId: rollout.id, service: eventService(rollout), releaseId: releaseId ?? '' },
      (verdict) => {
        failed ??= verdict.message;
        wake();
      },
      this.now,
    );
    analysis.start('step', rollout.analysis, {
      service: rollout.service ?? eventService(rollout),
      canaryReleaseId: releaseId ?? '',
      stableReleaseId: null,
      windowStart: this.now(),
      signal,
    });
    try {
      await Promise.race([waitFor(rollout.pauseMs, signal), verdictArrived]);
      if (failed !== null || signal.aborted) return failed;
      const phase = analysis.conclude('step');
      return phase === 'Failed' || phase === 'Inconclusive' ? `the step's analysis ended ${phase}` : null;
    } finally {
      analysis.stop('all');
    }
  }

  private setPercentage(run: Run, percentage: number, reason: string): void {
    const { rollout } = run;
    run.writing = true;
    try {
      const stored = this.deps.flags.upsert(
        rollout.environment,
        rollout.flag,
        (existing) => {
          if (existing === null) throw new CutoverError('FLAG_NOT_FOUND', `flag "${rollout.flag}" was deleted`);
          return {
            ...existing,
            rollout: {
              percentage,
              stickiness: existing.rollout?.stickiness ?? DEFAULT_STICKINESS,
              variant: rollout.variant,
            },
          };
        },
        {
          actor: `rollout ${rollout.id}`,
          reason: `${reason} (started by ${rollout.actor})`,
          ifVersion: rollout.lastVersion,
        },
      );
      rollout.lastVersion = stored.version;
    } finally {
      run.writing = false;
    }
  }

  private onFlagChange(change: FlagChange): void {
    if (change.type !== 'flag') return;
    for (const run of this.runs.values()) {
      const { rollout } = run;
      if (
        run.writing ||
        rollout.phase !== 'running' ||
        rollout.environment !== change.environment ||
        rollout.flag !== change.key
      )
        continue;
      const what = change.flag === null ? 'deleted' : 'changed';
      this.finish(
        rollout,
        'aborted',
        `the flag was ${what} by ${change.actor} during the rollout; that change was kept`,
        { revert: false },
      );
      run.abort.abort();
    }
  }

  private finish(
    rollout: FlagRollout,
    phase: Exclude<FlagRolloutPhase, 'running'>,
    reason: string | null,
    options: { revert: boolean },
  ): void {
    if (rollout.phase !== 'running') return;
    rollout.phase = phase;
    rollout.reason = reason;
    rollout.finishedAt = this.now();
    if (options.revert) this.revert(rollout, reason ?? phase);
    this.persist(rollout);
    const level = phase === 'succeeded' ? 'info' : phase === 'failed' ? 'error' : 'warn';
    const message =
      phase === 'succeeded'
        ? `rollout of ${rollout.flag} succeeded: on for ${rollout.steps.at(-1)}%`
        : `rollout of ${rollout.flag} ${phase}: ${reason}`;
    this.record(rollout, `flag-rollout.${phase}`, message, { reason }, level);
  }

  /** Puts the flag back as it was before the rollout, unless someone else changed it since. */
  private revert(rollout: FlagRollout, reason: string): void {
    const run = this.runs.get(rollout.id);
    if (run) run.writing = true;
    try {
      const stored = this.deps.flags.upsert(
        rollout.environment,
        rollout.flag,
        (existing) => {
          if (existing === null) throw new CutoverError('FLAG_NOT_FOUND', `flag "${rollout.flag}" was deleted`);
          return rollout.previous;
        },
        { actor: `rollout ${rollout.id}`, reason, ifVersion: rollout.lastVersion },
      );
      rollout.lastVersion = stored.version;
      this.record(
        rollout,
        'flag-rollout.reverted',
        `${rollout.flag} set back to its state before the rollout (${describeRollout(rollout.previous)})`,
      );
    } catch (error) {
      rollout.reason = `${reason}; but the flag could not be set back: ${(error as Error).message}`;
      this.record(
        rollout,
        'flag-rollout.revert-failed',
        `${rollout.flag} could not be set back: ${(error as Error).message}`,
        undefined,
        'error',
      );
    } finally {
      if (run) run.writing = false;
    }
  }

  /**
   * Refuses a template the rollout could not run, naming the field of cutover.yaml at fault: the request itself
   * is fine, so the catalogue's hint about the request body would send the reader to the wrong place.
   */
  private checkAnalysis(request: StartRollout): void {
    const templates = this.deps.templates();
    for (const name of request.analysis) {
      const template = templates[name];
      if (!template) {
        const known = Object.keys(templates);
        throw new CutoverError(
          'BAD_REQUEST',
          `analysis: no template "${name}" in cutover.yaml${known.length > 0 ? ` (there are ${known.join(', ')})` : ' (it has no analysis section)'}`,
          {
            hint: `Add a template "${name}" to the analysis section of cutover.yaml (then \`cutover reload\`), or name one it has.`,
          },
        );
      }
      template.metrics.forEach((metric, index) => {
        if (metric.provider.type !== 'builtin') return;
        const field = `analysis.${name}.metrics[${index}] (${metric.name})`;
        if (NEEDS_TWO_RELEASES.has(metric.provider.metric)) {
          throw new CutoverError(
            'BAD_REQUEST',
            `${field} in cutover.yaml: provider builtin ${metric.provider.metric} compares a canary with its stable release; a flag rollout runs on one release, so template "${name}" cannot judge it`,
            {
              hint: `Give flag rollouts a template without builtin ${metric.provider.metric} (builtin error-rate or latency-p95 with --service, or a prometheus, web or command metric), as the README's "flag-errors"; canaries may keep "${name}".`,
            },
          );
        }
        if (request.service === undefined) {
          throw new CutoverError(
            'BAD_REQUEST',
            `${field} in cutover.yaml reads the proxy's counters (builtin ${metric.provider.metric}), which need the service whose traffic the flag changes`,
            { hint: `Name that service: add --service <name> (the API's "service" field).` },
          );
        }
      });
    }
    if (request.service !== undefined) this.deps.activeReleaseOf(request.service);
  }

  private persist(rollout: FlagRollout): void {
    this.deps.store.updateRollout(rollout.id, rollout.phase, rollout, rollout.finishedAt);
  }

  private record(
    rollout: FlagRollout,
    type: string,
    message: string,
    data?: unknown,
    level: 'info' | 'warn' | 'error' = 'info',
  ): void {
    this.deps.events.record({
      operationId: rollout.id,
      service: eventService(rollout),
      releaseId: null,
      type,
      message,
      data,
      level,
    });
  }
}

/** Rollout events share the events table with deploys, under a name no service can have. */
function eventService(rollout: FlagRollout): string {
  return `flag:${rollout.environment}/${rollout.flag}`;
}

function describeRollout(flag: Flag): string {
  if (!flag.enabled) return 'disabled';
  return flag.rollout === null ? 'no rollout' : `rollout ${flag.rollout.percentage}%`;
}

function waitFor(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
