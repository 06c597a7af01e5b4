import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ServiceStatus } from '../../src/controller/service-status.js';
import type { CutoverError } from '../../src/core/errors.js';
import type { EventRecord, OperationRecord } from '../../src/store/records.js';
import { runCli } from '../support/cli-process.js';
import { startHarness, type Harness } from '../support/cutover-harness.js';
import { operate, sleep, versionAt } from '../support/operations.js';

/** Approval gates on a real server: a blue-green switch and a canary step wait for `cutover approve`, recorded with who approved. */
describe('approval gates', () => {
  let h: Harness;
  const cli = (...args: string[]) =>
    runCli(args, { cwd: h.dir, env: { CUTOVER_URL: h.server.adminUrl, CUTOVER_TOKEN: h.server.token } });

  before(async () => {
    h = await startHarness({
      instances: 1,
      strategy: '{ type: blue-green, approval: true, auto_switch: true, timeout: 20s }',
    });
  });
  after(async () => {
    await h?.close();
  });

  it('holds a blue-green switch for an approval that promote and --auto-switch cannot give', async () => {
    const first = await operate(h.client, '/api/v1/services/web/deploy', { version: 'v1' });
    assert.equal(first.operation.phase, 'ready', 'even the first deploy waits (auto_switch is overridden)');
    const approvedFirst = await cli('approve', 'web');
    assert.equal(approvedFirst.code, 0, approvedFirst.stderr);
    assert.equal((await versionAt(h.proxyUrl)).version, 'v1');

    await assert.rejects(
      h.client.request('POST', '/api/v1/services/web/deploy', { version: 'v2', autoSwitch: true, actor: 'test' }),
      (error: CutoverError) => {
        assert.equal(error.code, 'BAD_REQUEST');
        assert.match(error.message, /needs an approval: --auto-switch cannot skip it/);
        return true;
      },
    );
    const { operation } = await operate(h.client, '/api/v1/services/web/deploy', { version: 'v2' });
    assert.equal(operation.phase, 'ready');
    await assert.rejects(
      h.client.request('POST', '/api/v1/services/web/promote', { actor: 'test' }),
      (error: CutoverError) => {
        assert.equal(error.code, 'INVALID_STATE');
        assert.match(error.hint, /cutover approve web/);
        return true;
      },
    );
    await sleep(200);
    assert.equal((await versionAt(h.proxyUrl)).version, 'v1', 'nothing moved without the approval');
    const approved = await cli('approve', 'web');
    assert.equal(approved.code, 0, approved.stderr);
    assert.match(approved.stdout, /waiting for approval \(cutover approve\)/);
    const approver = /switch approved by (\S+)/.exec(approved.stdout)?.[1];
    assert.ok(approver, approved.stdout);
    assert.equal((await versionAt(h.proxyUrl)).version, 'v2');
    const { events } = await h.client.request<{ operation: OperationRecord; events: EventRecord[] }>(
      'GET',
      `/api/v1/operations/${operation.id}`,
    );
    assert.ok(
      events.some((e) => e.type === 'deploy.approved' && e.message === `switch approved by ${approver}`),
      'the approval is recorded with who gave it',
    );
    const nothing = await cli('approve', 'web');
    assert.equal(nothing.code, 6, 'INVALID_STATE: nothing waits (docs/cli-exit-codes.md)');
    assert.match(nothing.stderr, /nothing of web waits for an approval/);
  });
});

describe('approval gates in a canary', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({
      instances: 1,
      strategy:
        '{ type: canary, steps: [{ weight: 30, pause: 300ms, approval: true }, { weight: 100 }], timeout: 20s }',
    });
    await operate(h.client, '/api/v1/services/web/deploy', { version: 'v1' });
  });
  after(async () => {
    await h?.close();
  });

  it("waits at the step's weight after its pause until approved, then finishes", async () => {
    const { operation } = await h.client.request<{ operation: OperationRecord }>(
      'POST',
      '/api/v1/services/web/deploy',
      { version: 'v2', actor: 'test' },
    );
    let status: ServiceStatus | null = null;
    for (let i = 0; i < 100; i++) {
      status = await h.client.request<ServiceStatus>('GET', '/api/v1/services/web');
      if (status.canary?.pausedBy === 'approval') break;
      await sleep(100);
    }
    assert.equal(status?.canary?.pausedBy, 'approval');
    assert.equal(status?.canary?.weight, 30);
    await sleep(500);
    assert.equal(
      (await h.client.request<ServiceStatus>('GET', '/api/v1/services/web')).canary?.weight,
      30,
      'it does not move on by itself',
    );
    await assert.rejects(h.client.request('POST', '/api/v1/services/web/promote', { actor: 'test' }), {
      code: 'INVALID_STATE',
    });
    await h.client.request('POST', '/api/v1/services/web/approve', { actor: 'dave' });
    let done: OperationRecord | null = null;
    for (let i = 0; i < 100 && !done?.outcome; i++) {
      done = (await h.client.request<{ operation: OperationRecord }>('GET', `/api/v1/operations/${operation.id}`))
        .operation;
      await sleep(100);
    }
    assert.equal(done?.outcome, 'succeeded');
    const { events } = await h.client.request<{ events: EventRecord[] }>('GET', `/api/v1/operations/${operation.id}`);
    assert.ok(events.some((e) => e.type === 'approval.waiting'));
    assert.ok(events.some((e) => e.type === 'deploy.approved' && /approved by dave/.test(e.message)));
    assert.equal((await versionAt(h.proxyUrl)).version, 'v2');
  });
});
