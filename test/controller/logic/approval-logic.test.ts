import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { serviceYaml, startLogic, type LogicHarness } from './logic-harness.js';

const deploy = (h: LogicHarness, version: string) => h.controller.deploy('web', { version, actor: 'test' });

describe('approvals over fakes', () => {
  let h: LogicHarness;
  afterEach(async () => {
    await h?.close();
  });

  it('a blue-green switch with approval waits for approve; promote and --auto-switch cannot give it', async () => {
    h = await startLogic(serviceYaml('{ type: blue-green, approval: true, timeout: 30s }'));
    const first = await deploy(h, 'v1');
    await h.until(() => h.store.getOperation(first.id)?.phase === 'ready');
    await h.controller.approve('web', 'alice');
    await h.finish(first);
    await assert.rejects(h.controller.deploy('web', { version: 'v2', autoSwitch: true, actor: 'test' }), {
      code: 'BAD_REQUEST',
    });
    const op = await deploy(h, 'v2');
    await h.until(() => h.store.getOperation(op.id)?.phase === 'ready');
    await assert.rejects(h.controller.promote('web', 'test'), { code: 'INVALID_STATE' });
    await h.clock.advance(10 * 60_000);
    assert.equal(h.versionServed(), 'v1', 'nothing moves without the approval');
    await h.controller.approve('web', 'bob');
    assert.equal((await h.finish(op)).outcome, 'succeeded');
    assert.equal(h.versionServed(), 'v2');
    assert.ok(h.events(op).some((e) => e.type === 'deploy.approved' && e.message === 'switch approved by bob'));
    await assert.rejects(h.controller.approve('web', 'bob'), {
      code: 'INVALID_STATE',
      message: /nothing of web waits for an approval/,
    });
  });

  it('a canary step with approval holds its weight until approved', async () => {
    h = await startLogic(
      serviceYaml(
        '{ type: canary, steps: [{ weight: 30, pause: 1m, approval: true }, { weight: 100 }], timeout: 30s }',
      ),
    );
    await h.finish(await deploy(h, 'v1'));
    const op = await deploy(h, 'v2');
    await h.until(() => h.controller.status('web').canary?.pausedBy === 'approval');
    await h.clock.advance(10 * 60_000);
    assert.equal(h.controller.status('web').canary?.weight, 30);
    await assert.rejects(h.controller.promote('web', 'test'), { code: 'INVALID_STATE' });
    await h.controller.approve('web', 'dave');
    assert.equal((await h.finish(op)).outcome, 'succeeded');
    assert.equal(h.versionServed(), 'v2');
  });
});
