import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { serviceYaml, startLogic, type LogicHarness } from './logic-harness.js';

const rolling = (failureAction: string) =>
  serviceYaml(
    `{ type: rolling, parallelism: 1, order: start-first, monitor: 5s, failure_action: ${failureAction}, timeout: 30s }`,
    { instances: 4 },
  );
const deploy = (h: LogicHarness, version: string) => h.controller.deploy('web', { version, actor: 'test' });
const versions = (h: LogicHarness) =>
  h.runtime
    .list()
    .map((i) => i.version)
    .sort();

describe('rolling over fakes, one case per failure_action', () => {
  let h: LogicHarness;
  afterEach(async () => {
    await h?.close();
  });

  it('replaces the instances one batch at a time', async () => {
    h = await startLogic(rolling('rollback'));
    await h.finish(await deploy(h, 'v1'));
    const op = await deploy(h, 'v2');
    await h.until(() => versions(h).filter((v) => v === 'v2').length === 1);
    assert.ok(versions(h).filter((v) => v === 'v1').length >= 3, 'the other instances still run v1');
    assert.equal((await h.finish(op)).outcome, 'succeeded');
    assert.deepEqual(versions(h), ['v2', 'v2', 'v2', 'v2']);
    assert.equal(h.versionServed(), 'v2');
  });

  it('rollback: a batch that never turns healthy puts every instance back on v1', async () => {
    h = await startLogic(rolling('rollback'));
    await h.finish(await deploy(h, 'v1'));
    h.runtime.unhealthyVersions.add('v2');
    const done = await h.finish(await deploy(h, 'v2'));
    assert.equal(done.outcome, 'failed');
    assert.deepEqual(versions(h), ['v1', 'v1', 'v1', 'v1']);
    assert.equal(h.versionServed(), 'v1');
  });

  it('pause: the update waits at the failed batch; resume retries it once v2 is fixed', async () => {
    h = await startLogic(rolling('pause'));
    await h.finish(await deploy(h, 'v1'));
    h.runtime.unhealthyVersions.add('v2');
    const op = await deploy(h, 'v2');
    await h.until(() => h.store.getOperation(op.id)?.phase === 'paused');
    await h.clock.advance(5 * 60_000);
    assert.equal(h.store.getOperation(op.id)?.outcome, null, 'a paused update waits for a person');
    assert.equal(h.versionServed(), 'v1');
    h.runtime.unhealthyVersions.delete('v2');
    h.runtime.setHealth((i) => i.version === 'v2', 'healthy');
    // The resume call returns once the machine took it; the retried batch runs on the clock.
    const resumed = h.controller.resume('web', 'test');
    assert.equal((await h.finish(op)).outcome, 'succeeded');
    await resumed;
    assert.deepEqual(versions(h), ['v2', 'v2', 'v2', 'v2']);
  });

  it('continue: failed batches are counted and the update goes on to the end', async () => {
    h = await startLogic(rolling('continue'));
    await h.finish(await deploy(h, 'v1'));
    h.runtime.unhealthyVersions.add('v2');
    const op = await deploy(h, 'v2');
    assert.equal((await h.finish(op)).outcome, 'succeeded');
    assert.equal(h.events(op).filter((e) => e.type === 'rolling.batch-failed').length, 4);
    assert.equal(h.controller.activeRelease('web')?.version, 'v2');
  });
});
