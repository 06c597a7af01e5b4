import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { serviceYaml, startLogic, type LogicHarness } from './logic-harness.js';

const MINUTE = 60_000;
const deploy = (h: LogicHarness, version: string) => h.controller.deploy('web', { version, actor: 'test' });
const runningVersions = (h: LogicHarness) => [...new Set(h.runtime.list().map((i) => i.version))].sort();

describe('blue-green over fakes', () => {
  let h: LogicHarness;
  afterEach(async () => {
    await h?.close();
  });

  it('deploys, switches on promote, keeps the standby for scale_down_delay, then stops it', async () => {
    h = await startLogic(serviceYaml('{ type: blue-green, auto_switch: false, scale_down_delay: 10m, timeout: 30s }'));
    const first = await deploy(h, 'v1');
    await h.until(() => h.store.getOperation(first.id)?.phase === 'ready');
    await h.controller.promote('web', 'test');
    assert.equal((await h.finish(first)).outcome, 'succeeded');
    assert.equal(h.versionServed(), 'v1');

    const second = await deploy(h, 'v2');
    await h.until(() => h.store.getOperation(second.id)?.phase === 'ready');
    assert.equal(h.versionServed(), 'v1', 'a ready deploy gets no traffic before the switch');
    assert.deepEqual(runningVersions(h), ['v1', 'v2']);
    await h.controller.promote('web', 'test');
    assert.equal((await h.finish(second)).outcome, 'succeeded');
    assert.equal(h.versionServed(), 'v2');
    const v1 = h.store.getRelease(second.fromReleaseId!)!;
    assert.equal(v1.state, 'standby');

    await h.clock.advance(9 * MINUTE);
    assert.deepEqual(runningVersions(h), ['v1', 'v2'], 'the standby runs for the whole delay');
    await h.clock.advance(2 * MINUTE);
    assert.deepEqual(runningVersions(h), ['v2'], 'and is stopped once it passed');
    assert.equal(h.store.getRelease(v1.id)?.state, 'stopped');
  });

  it('rolls back at once to the standby release, without starting anything', async () => {
    h = await startLogic(serviceYaml('{ type: blue-green, auto_switch: true, scale_down_delay: 10m, timeout: 30s }'));
    await h.finish(await deploy(h, 'v1'));
    await h.finish(await deploy(h, 'v2'));
    assert.equal(h.versionServed(), 'v2');
    const starts = h.runtime.startedSpecs.length;
    const rollback = await h.controller.rollback('web', { actor: 'test' });
    assert.equal(rollback.outcome, 'succeeded', 'an instant rollback has its outcome when the call returns');
    assert.equal(h.versionServed(), 'v1');
    assert.equal(h.runtime.startedSpecs.length, starts, 'no instance was started');
  });

  it('a version that never turns healthy fails at the deploy timeout and traffic stays', async () => {
    h = await startLogic(serviceYaml('{ type: blue-green, auto_switch: true, timeout: 30s }'));
    await h.finish(await deploy(h, 'v1'));
    h.runtime.unhealthyVersions.add('v2');
    const failed = await h.finish(await deploy(h, 'v2'));
    assert.equal(failed.outcome, 'failed');
    assert.equal(failed.error?.code, 'HEALTH_TIMEOUT');
    assert.equal(h.versionServed(), 'v1');
    assert.deepEqual(runningVersions(h), ['v1']);
  });
});
