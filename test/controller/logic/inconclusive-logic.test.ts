import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { serviceYaml, startLogic, type LogicHarness } from './logic-harness.js';

// Issue 20, item 4 (b): analysis without data is inconclusive, and inconclusive follows on_inconclusive
// (pause by default) instead of passing. The fake router gets no user traffic here, so the builtin error
// rate has no requests to count: every measurement is "no requests yet", and no batch is vouched for.
const ANALYSIS = `analysis:
  errors:
    metrics:
      - { name: error-rate, provider: { builtin: error-rate }, interval: 5s, failure_condition: result > 0.05 }
`;
const rolling = (extra: string) =>
  serviceYaml(
    `{ type: rolling, parallelism: 1, order: start-first, monitor: 10s, failure_action: rollback, timeout: 1m, analysis: [errors]${extra} }`,
    { instances: 2, topLevel: ANALYSIS },
  );
const deploy = (h: LogicHarness, version: string) => h.controller.deploy('web', { version, actor: 'test' });
const versions = (h: LogicHarness) =>
  h.runtime
    .list()
    .map((i) => i.version)
    .sort();

describe('rolling: an inconclusive batch analysis follows on_inconclusive', () => {
  let h: LogicHarness;
  afterEach(async () => {
    await h?.close();
  });

  it('pause (the default): the update waits at each unjudged batch; resume accepts it and goes on', async () => {
    h = await startLogic(rolling(''));
    await h.finish(await deploy(h, 'v1'));
    const op = await deploy(h, 'v2');
    await h.until(() => h.store.getOperation(op.id)?.phase === 'paused');
    await h.clock.advance(5 * 60_000);
    assert.equal(h.store.getOperation(op.id)?.outcome, null, 'a paused update waits for a person');
    assert.deepEqual(versions(h), ['v1', 'v2'], 'batch 1 is done, batch 2 not started');
    const paused = h.events(op).find((e) => e.type === 'rolling.paused');
    assert.match(paused?.message ?? '', /batch 1's analysis was inconclusive \(.*nothing vouches for the release/);
    assert.match(paused?.message ?? '', /`cutover resume` accepts the batch/);

    // A resume call returns once the machine took it; the batches run on the clock.
    const first = h.controller.resume('web', 'test');
    await h.until(() => h.events(op).filter((e) => e.type === 'rolling.paused').length === 2);
    await first;
    assert.equal(h.store.getOperation(op.id)?.phase, 'paused', 'batch 2 has no data either');
    const second = h.controller.resume('web', 'test');
    assert.equal((await h.finish(op)).outcome, 'succeeded');
    await second;
    assert.deepEqual(versions(h), ['v2', 'v2']);
  });

  it('fail: the unjudged batch fails, and failure_action (rollback) puts v1 back', async () => {
    h = await startLogic(rolling(', on_inconclusive: fail'));
    await h.finish(await deploy(h, 'v1'));
    const failed = await h.finish(await deploy(h, 'v2'));
    assert.equal(failed.outcome, 'failed');
    assert.equal(failed.error?.code, 'ROLLING_BATCH_FAILED');
    assert.match(
      failed.error?.message ?? '',
      /batch 1 failed: batch 1's analysis was inconclusive .*on_inconclusive: fail/,
    );
    assert.deepEqual(versions(h), ['v1', 'v1']);
    assert.equal(h.versionServed(), 'v1');
  });

  it('continue: the update goes on, each unjudged batch recorded as a warning', async () => {
    h = await startLogic(rolling(', on_inconclusive: continue'));
    await h.finish(await deploy(h, 'v1'));
    const op = await deploy(h, 'v2');
    assert.equal((await h.finish(op)).outcome, 'succeeded');
    const warnings = h.events(op).filter((e) => e.type === 'rolling.inconclusive');
    assert.equal(warnings.length, 2);
    assert.deepEqual(versions(h), ['v2', 'v2']);
  });
});

describe('canary: an inconclusive step analysis follows on_inconclusive', () => {
  let h: LogicHarness;
  afterEach(async () => {
    await h?.close();
  });
  const canary = (extra: string) =>
    serviceYaml(
      `{ type: canary, steps: [{ weight: 20, pause: 10s, analysis: [errors] }, { weight: 100 }], timeout: 1m${extra} }`,
      { topLevel: ANALYSIS },
    );

  it('pause (the default): the rollout pauses for a person', async () => {
    h = await startLogic(canary(''));
    await h.finish(await deploy(h, 'v1'));
    const op = await deploy(h, 'v2');
    await h.until(() => h.store.getOperation(op.id)?.phase === 'paused');
    await h.clock.advance(5 * 60_000);
    assert.equal(h.store.getOperation(op.id)?.outcome, null);
  });

  it('fail: the canary is rolled back as for a failed analysis, saying it was inconclusive', async () => {
    h = await startLogic(canary(', on_inconclusive: fail'));
    await h.finish(await deploy(h, 'v1'));
    const failed = await h.finish(await deploy(h, 'v2'));
    assert.equal(failed.outcome, 'failed');
    assert.equal(failed.error?.code, 'ANALYSIS_FAILED');
    assert.match(failed.error?.message ?? '', /inconclusive; on_inconclusive: fail/);
    assert.equal(h.versionServed(), 'v1');
  });

  it('continue: the rollout goes on with a warning', async () => {
    h = await startLogic(canary(', on_inconclusive: continue'));
    await h.finish(await deploy(h, 'v1'));
    const op = await deploy(h, 'v2');
    assert.equal((await h.finish(op)).outcome, 'succeeded');
    assert.ok(h.events(op).some((e) => e.type === 'analysis.inconclusive' && /continue goes on/.test(e.message)));
    assert.equal(h.versionServed(), 'v2');
  });
});
