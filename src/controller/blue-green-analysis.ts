import type { BlueGreenCommand, BlueGreenEvent } from '../core/blue-green-strategy.js';
import { AnalysisRunner } from './analysis-runner.js';
import type { RunningOperation } from './blue-green-run.js';
import { blueGreenOf } from './blue-green-run.js';
import type { RunnerContext } from './runner-context.js';

/**
 * The two analyses of a blue-green deploy: the window before the switch
 * (`analyse`, which the machine waits for) and the watch after it (`watch`,
 * which reports back through the machine's queue when it fails or its
 * window ends). Split from the runner, which only dispatches the commands.
 */

type Analyse = Extract<BlueGreenCommand, { type: 'analyse' }>;
type Watch = Extract<BlueGreenCommand, { type: 'watch' }>;

/** Judges the new release for the window before the switch; a failed verdict or an abort cuts it short. */
export async function judgeBeforeSwitch(
  ctx: RunnerContext,
  run: RunningOperation,
  command: Analyse,
): Promise<BlueGreenEvent> {
  const { service, state, operation } = run;
  const base = { operationId: operation.id, service: service.name, releaseId: state.releaseId };
  ctx.events.record({
    ...base,
    type: 'analysis.started',
    message: `judging ${state.releaseId} for ${Math.round(command.windowMs / 1000)} s before the switch (${command.templates.join(', ')})`,
  });
  let failedEarly: ((message: string) => void) | null = null;
  const analysis = new AnalysisRunner(
    ctx.config.analysis,
    ctx.providerFor,
    ctx.events,
    base,
    (verdict) => {
      if (verdict.phase === 'Failed') failedEarly?.(verdict.message);
    },
    ctx.clock,
    ctx.syntheticLoad,
  );
  analysis.start('step', command.templates, {
    service: service.name,
    canaryReleaseId: state.releaseId,
    stableReleaseId: state.previousReleaseId,
    windowStart: ctx.clock.now(),
  });
  const early = await new Promise<string | null>((resolve) => {
    const timer = ctx.clock.schedule(() => resolve(null), command.windowMs);
    failedEarly = (message) => {
      timer.cancel();
      resolve(message);
    };
    run.abort.signal.addEventListener(
      'abort',
      () => {
        timer.cancel();
        resolve('aborted');
      },
      { once: true },
    );
  });
  if (run.abort.signal.aborted) {
    analysis.stop('all');
    return { type: 'abort', reason: String((run.abort.signal.reason as Error)?.message ?? 'aborted') };
  }
  if (early !== null) {
    analysis.stop('all');
    return { type: 'pre-analysis-concluded', phase: 'Failed', message: early };
  }
  const { phase, message } = analysis.concludeExplained('step');
  analysis.stop('all');
  if (phase !== 'Inconclusive') {
    return {
      type: 'pre-analysis-concluded',
      phase: phase === 'Running' ? 'Successful' : phase,
      message: `analysis ${phase.toLowerCase()}`,
    };
  }
  // No data does not vouch for the release: on_inconclusive decides (pause: wait for promote).
  const policy = blueGreenOf(service).onInconclusive ?? 'pause';
  if (policy === 'fail')
    return {
      type: 'pre-analysis-concluded',
      phase: 'Failed',
      message: `inconclusive (${message}); on_inconclusive: fail`,
    };
  if (policy === 'continue') {
    ctx.events.record({
      ...base,
      type: 'analysis.inconclusive',
      level: 'warn',
      message: `the analysis before the switch was inconclusive (${message}); on_inconclusive: continue goes on`,
    });
    return { type: 'pre-analysis-concluded', phase: 'Successful', message: 'analysis inconclusive, continued' };
  }
  return { type: 'pre-analysis-concluded', phase, message };
}

/**
 * Starts the post-promotion analysis and its window timer. The release serves
 * already, so a failure (or an inconclusive verdict with on_inconclusive:
 * fail) is dispatched as `analysis-failed`, which switches back.
 */
export function startWatch(
  ctx: RunnerContext,
  run: RunningOperation,
  command: Watch,
  dispatch: (event: BlueGreenEvent) => Promise<void>,
): void {
  const { service, state, operation } = run;
  const base = { operationId: operation.id, service: service.name, releaseId: state.releaseId };
  const analysis = new AnalysisRunner(
    ctx.config.analysis,
    ctx.providerFor,
    ctx.events,
    base,
    (verdict) => {
      if (verdict.phase === 'Failed') void dispatch({ type: 'analysis-failed', message: verdict.message });
      else if ((blueGreenOf(service).onInconclusive ?? 'pause') === 'fail')
        void dispatch({ type: 'analysis-failed', message: `${verdict.message} (inconclusive; on_inconclusive: fail)` });
      else
        ctx.events.record({
          ...base,
          type: 'analysis.inconclusive',
          level: 'warn',
          message: `${verdict.message}; the release stays`,
        });
    },
    ctx.clock,
    ctx.syntheticLoad,
  );
  run.analysis = analysis;
  analysis.start('post-promotion', command.templates, {
    service: service.name,
    canaryReleaseId: state.releaseId,
    stableReleaseId: state.previousReleaseId,
    windowStart: ctx.clock.now(),
    latencySamples: ctx.router.latencySamples ? (s, r) => ctx.router.latencySamples!(s, r) : undefined,
  });
  run.windowTimer = ctx.clock.schedule(() => void dispatch({ type: 'window-elapsed' }), command.windowMs);
  run.windowEndsAt = ctx.clock.now() + command.windowMs;
  ctx.events.record({
    ...base,
    type: 'deploy.watching',
    message: `watching ${state.releaseId} for ${Math.round(command.windowMs / 1000)} s after the switch (${command.templates.join(', ')}); a failure switches back`,
  });
}
