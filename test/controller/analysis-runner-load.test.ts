import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BuiltinProvider } from '../../src/analysis/builtin-provider.js';
import type { LoadSummary, SyntheticLoadHandle, SyntheticLoadStarter } from '../../src/analysis/synthetic-load.js';
import { ManualClock } from '../../src/clock/manual-clock.js';
import type { AnalysisLoadConfig, AnalysisMetricConfig, AnalysisTemplateConfig } from '../../src/config/types.js';
import type { SyntheticTally } from '../../src/core/analysis/synthetic-traffic.js';
import { LatencyHistogram } from '../../src/core/latency-histogram.js';
import { AnalysisRunner, type AnalysisVerdict, type MeasureContext } from '../../src/controller/analysis-runner.js';
import type { EventLog, NewEvent } from '../../src/controller/event-log.js';

/**
 * The analysis runner drives a template's load for as long as the runs of
 * its window are active, shares one load per release between windows, and
 * lets the builtin provider judge a window with no real traffic on the
 * load's answers. The load itself is a fake of its port (a tally the test
 * sets); the provider is the real builtin one over a router with no traffic.
 */
class FakeLoad implements SyntheticLoadHandle {
  stopped = false;
  requests = 0;
  failed = 0;
  private readonly latency = new LatencyHistogram();

  answer(count: number, failed: number, ms = 12): void {
    for (let i = 0; i < count; i++) this.latency.record(ms);
    this.requests += count;
    this.failed += failed;
  }
  tally(): SyntheticTally {
    return { requests: this.requests, responses: this.requests, failed: this.failed, latency: this.latency.snapshot() };
  }
  summary(): LoadSummary {
    return {
      requests: this.requests,
      responses: this.requests,
      failed: this.failed,
      dropped: 0,
      heldMs: 0,
      lastError: null,
    };
  }
  stop(): Promise<void> {
    this.stopped = true;
    return Promise.resolve();
  }
}

const LOAD: AnalysisLoadConfig = { rate: 10, path: '/ping', method: 'GET', onlyBelow: 10, timeoutMs: 1000 };

function metric(name: string): AnalysisMetricConfig {
  return {
    name,
    provider: { type: 'builtin', metric: 'error-rate' },
    intervalMs: 1000,
    initialDelayMs: 1000,
    count: null,
    successCondition: null,
    failureCondition: 'result > 0.05',
    failureLimit: 0,
    inconclusiveLimit: 0,
    consecutiveErrorLimit: 10,
  };
}

const TEMPLATES: Record<string, AnalysisTemplateConfig> = {
  probe: { name: 'probe', metrics: [metric('error-rate')], load: LOAD },
  plain: { name: 'plain', metrics: [metric('errors-too')] },
};

function setUp(withStarter = true) {
  const clock = new ManualClock();
  const events: NewEvent[] = [];
  const log = { record: (event: NewEvent) => events.push(event) } as unknown as EventLog;
  const loads: FakeLoad[] = [];
  const starts: { service: string; releaseId: string; config: AnalysisLoadConfig }[] = [];
  const starter: SyntheticLoadStarter = (target, config) => {
    starts.push({ ...target, config });
    const load = new FakeLoad();
    loads.push(load);
    return load;
  };
  const verdicts: AnalysisVerdict[] = [];
  const runner = new AnalysisRunner(
    TEMPLATES,
    () => new BuiltinProvider('error-rate', { counters: () => [] }),
    log,
    { operationId: 'op-1', service: 'quiet', releaseId: 'quiet-2' },
    (verdict) => verdicts.push(verdict),
    clock,
    withStarter ? starter : null,
  );
  const context: MeasureContext = {
    service: 'quiet',
    canaryReleaseId: 'quiet-2',
    stableReleaseId: 'quiet-1',
    windowStart: clock.now(),
  };
  const measurements = () => events.filter((e) => e.type === 'analysis.measurement');
  return { clock, events, runner, loads, starts, verdicts, context, measurements };
}

describe('analysis runner: a template with load', () => {
  it('judges a quiet window on the load, says so, and stops the load with the window', async () => {
    const { clock, runner, loads, starts, context, events, measurements } = setUp();
    runner.start('step', ['probe', 'plain'], context);
    assert.deepEqual(starts, [{ service: 'quiet', releaseId: 'quiet-2', config: LOAD }]);
    const load = loads[0]!;
    load.answer(10, 0);
    await clock.advance(1000);
    // Both templates of the window see the load: it is the window's evidence, not one metric's.
    assert.equal(measurements().length, 2);
    for (const m of measurements()) {
      assert.match(m.message, /0 → successful .*0 errors in 10 responses \(synthetic: 10 requests, 0 failed\)/);
      assert.deepEqual((m.data as { synthetic?: unknown }).synthetic, { requests: 10, failed: 0 });
    }
    assert.equal(runner.conclude('step'), 'Successful');
    assert.equal(load.stopped, true);
    const stopped = events.find((e) => e.type === 'analysis.load-stopped');
    assert.match(
      stopped?.message ?? '',
      /synthetic load of probe to quiet-2 stopped: synthetic: 10 requests, 0 failed/,
    );
  });

  it('fails a window whose synthetic requests fail', async () => {
    const { clock, runner, loads, context, verdicts } = setUp();
    runner.start('step', ['probe'], context);
    loads[0]!.answer(10, 3);
    await clock.advance(1000);
    assert.equal(verdicts[0]?.phase, 'Failed');
    assert.match(verdicts[0]?.message ?? '', /probe\/error-rate/);
    assert.equal(loads[0]!.stopped, true, 'the run ended on its own: nothing keeps the load going');
  });

  it('shares one load per release between windows, each counting from its own start, until the last ends', async () => {
    const { clock, runner, loads, starts, context, measurements } = setUp();
    runner.start('background', ['probe'], context);
    loads[0]!.answer(30, 1);
    runner.start('step', ['probe'], { ...context, windowStart: clock.now() });
    assert.equal(starts.length, 1);
    loads[0]!.answer(20, 0);
    await clock.advance(1000);
    const step = measurements().find((m) => (m.data as { scope: string }).scope === 'step');
    assert.match(step?.message ?? '', /0 errors in 20 responses/, 'the step sees the load from its own start');
    runner.conclude('step');
    assert.equal(loads[0]!.stopped, false, 'the background window still runs');
    runner.stop('all');
    assert.equal(loads[0]!.stopped, true);
  });

  it('starts nothing for templates without load, and the window stays on real traffic ("no requests yet")', async () => {
    const { clock, runner, starts, context, measurements, events } = setUp();
    runner.start('step', ['plain'], context);
    await clock.advance(1000);
    assert.equal(starts.length, 0);
    assert.match(measurements()[0]?.message ?? '', /no requests yet/);
    assert.ok(!events.some((e) => e.type.startsWith('analysis.load')));
  });

  it('records that the load could not run where there is no release to send it to', () => {
    const { runner, context, events } = setUp(false);
    runner.start('step', ['probe'], context);
    assert.match(events.find((e) => e.type === 'analysis.load-skipped')?.message ?? '', /not run/);
    runner.stop('all');
  });
});
