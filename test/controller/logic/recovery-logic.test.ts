import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { serviceYaml, startLogic, type LogicHarness } from './logic-harness.js';

const MINUTE = 60_000;
const deploy = (h: LogicHarness, version: string) => h.controller.deploy('web', { version, actor: 'test' });
const versions = (h: LogicHarness) => [...new Set(h.runtime.list().map((i) => i.version))].sort();
const CANARY = (onRestart: string) =>
  `{ type: canary, steps: [{ weight: 20, pause: 1m }, { weight: 100 }], on_restart: ${onRestart}, timeout: 30s }`;

/** A new Controller over the same store after a crash, with the fake runtime's surviving instances. */
describe('recovery after a controller restart, at each phase', () => {
  let h: LogicHarness;
  afterEach(async () => {
    await h?.close();
  });

  it('before the switch: the deploy is aborted, its instances stopped, v1 serves', async () => {
    h = await startLogic(serviceYaml('{ type: blue-green, auto_switch: false, timeout: 30s }'));
    const first = await deploy(h, 'v1');
    await h.until(() => h.store.getOperation(first.id)?.phase === 'ready');
    await h.controller.promote('web', 'test');
    await h.finish(first);
    const op = await deploy(h, 'v2');
    await h.until(() => h.store.getOperation(op.id)?.phase === 'ready');
    h = await h.restart();
    assert.equal(h.store.getOperation(op.id)?.outcome, 'aborted');
    assert.equal(h.versionServed(), 'v1');
    assert.deepEqual(versions(h), ['v1'], 'the v1 instances were adopted, the v2 ones stopped');
    assert.equal(h.store.getLock('web'), null);
  });

  it('after the switch: v2 serves, v1 keeps its rollback window and is stopped after it', async () => {
    h = await startLogic(serviceYaml('{ type: blue-green, auto_switch: true, scale_down_delay: 10m, timeout: 30s }'));
    await h.finish(await deploy(h, 'v1'));
    await h.finish(await deploy(h, 'v2'));
    await h.clock.advance(MINUTE);
    h = await h.restart();
    assert.equal(h.versionServed(), 'v2');
    assert.deepEqual(versions(h), ['v1', 'v2']);
    const rollback = await h.controller.rollback('web', { actor: 'test' });
    assert.equal(rollback.outcome, 'succeeded', 'the adopted standby still makes the rollback instant');
    assert.equal(h.versionServed(), 'v1');
  });

  it('a standby adopted after the restart is stopped when its scale-down time comes', async () => {
    h = await startLogic(serviceYaml('{ type: blue-green, auto_switch: true, scale_down_delay: 10m, timeout: 30s }'));
    await h.finish(await deploy(h, 'v1'));
    await h.finish(await deploy(h, 'v2'));
    await h.clock.advance(5 * MINUTE);
    h = await h.restart();
    await h.clock.advance(4 * MINUTE);
    assert.deepEqual(versions(h), ['v1', 'v2']);
    await h.clock.advance(2 * MINUTE);
    assert.deepEqual(versions(h), ['v2']);
  });

  it('a canary with on_restart: resume goes on from its step at its weight', async () => {
    h = await startLogic(serviceYaml(CANARY('resume')));
    await h.finish(await deploy(h, 'v1'));
    const op = await deploy(h, 'v2');
    await h.until(() => h.router.routeOf('web')?.canary?.weight === 20);
    h = await h.restart();
    assert.equal(h.router.routeOf('web')?.canary?.weight, 20, 'the new router gets the canary route back at once');
    assert.equal(h.store.getOperation(op.id)?.outcome, null);
    assert.ok(h.events(op).some((e) => e.type === 'canary.resumed'));
    assert.equal((await h.finish(op)).outcome, 'succeeded');
    assert.equal(h.versionServed(), 'v2');
  });

  it('a canary with on_restart: abort is closed, and v1 takes all traffic', async () => {
    h = await startLogic(serviceYaml(CANARY('abort')));
    await h.finish(await deploy(h, 'v1'));
    const op = await deploy(h, 'v2');
    await h.until(() => h.router.routeOf('web')?.canary?.weight === 20);
    h = await h.restart();
    assert.equal(h.store.getOperation(op.id)?.outcome, 'aborted');
    assert.equal(h.router.routeOf('web')?.canary ?? null, null);
    assert.equal(h.versionServed(), 'v1');
    assert.deepEqual(versions(h), ['v1']);
  });

  it('a rolling update in flight is aborted and the instances that run are kept or stopped by their release', async () => {
    h = await startLogic(
      serviceYaml('{ type: rolling, parallelism: 1, order: start-first, monitor: 5s, timeout: 30s }', { instances: 2 }),
    );
    await h.finish(await deploy(h, 'v1'));
    h.runtime.unhealthyVersions.add('v2');
    const op = await deploy(h, 'v2');
    await h.until(() => versions(h).includes('v2'));
    h = await h.restart();
    assert.equal(h.store.getOperation(op.id)?.outcome, 'aborted');
    assert.equal(h.versionServed(), 'v1');
  });
});
