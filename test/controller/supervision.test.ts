import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { SteadyTraffic } from '../../examples/demo/steady-traffic.js';
import type { ServiceStatus } from '../../src/controller/service-status.js';
import type { OperationRecord } from '../../src/store/records.js';
import { isAlive } from '../support/cli-process.js';
import { SAMPLE_APP, startHarness, type Harness } from '../support/cutover-harness.js';
import { operate, sleep, versionAt } from '../support/operations.js';

// After the deploy: active health checks keep a sick instance out of
// rotation, a crashed instance of the active release is restarted, and the
// release history lets you go back to any kept release, even a stopped one.
describe('supervision, smoke checks, rollback to a stopped release', () => {
  let h: Harness;
  const status = (name = 'web'): Promise<ServiceStatus> =>
    h.client.request<ServiceStatus>('GET', `/api/v1/services/${name}`);
  const until = async (what: string, check: (s: ServiceStatus) => boolean, name = 'web'): Promise<ServiceStatus> => {
    for (let i = 0; i < 150; i++) {
      const s = await status(name);
      if (check(s)) return s;
      await sleep(100);
    }
    throw new Error(`timed out waiting for ${what}: ${JSON.stringify(await status(name))}`);
  };
  const instancesAnswering = async (n: number): Promise<Set<string>> => {
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) {
      const response = await request(h.proxyUrl, { headers: { host: 'web.localhost' } });
      assert.equal(response.statusCode, 200);
      seen.add(((await response.body.json()) as { instance: string }).instance);
    }
    return seen;
  };

  before(async () => {
    h = await startHarness({
      strategy: '{ type: blue-green, auto_switch: true, timeout: 8s, scale_down_delay: 10m }',
      drainTimeout: '2s',
      // The recovery case below is about readiness (out of rotation and back): the unhealthy
      // instance must not be restarted (liveness, restart_after) before the test heals it.
      restartAfter: 'false',
      extraServiceYaml: `  api:
    hosts: [api.localhost]
    command: node server.js
    cwd: ${SAMPLE_APP}
    env: { APP_VERSION: "\${VERSION}" }
    health: { path: /health, interval: 200ms }
    strategy: { type: blue-green, auto_switch: true, timeout: 8s, smoke: [/ready] }
  broken:
    hosts: [broken.localhost]
    command: definitely-not-a-command-xyz --serve
    cwd: ${SAMPLE_APP}
    health: { path: /health, interval: 200ms }
    strategy: { type: blue-green, timeout: 5s }
  nowhere:
    hosts: [nowhere.localhost]
    command: node server.js
    cwd: /nonexistent/cutover-test-dir
    strategy: { type: blue-green, timeout: 5s }
`,
    });
    const { operation } = await operate(h.client, '/api/v1/services/web/deploy', { version: 'v1' });
    assert.equal(operation.outcome, 'succeeded');
  });
  after(async () => {
    await h?.close();
  });

  it('an instance that turns unhealthy leaves the rotation and comes back when it recovers', async () => {
    assert.deepEqual(await instancesAnswering(10), new Set(['0', '1']));
    const sick = (await status()).active!.instances[0]!;
    await (await request(`http://127.0.0.1:${sick.port}/admin/health`, { method: 'POST', body: 'fail' })).body.dump();
    await until('instance 0 unhealthy', (s) => s.active!.instances[0]!.health === 'unhealthy');
    assert.deepEqual(await instancesAnswering(10), new Set(['1']), 'only the healthy instance gets traffic');
    await (await request(`http://127.0.0.1:${sick.port}/admin/health`, { method: 'POST', body: 'ok' })).body.dump();
    await until('instance 0 healthy again', (s) => s.active!.instances[0]!.health === 'healthy');
    assert.deepEqual(await instancesAnswering(10), new Set(['0', '1']));
  });

  it('a crashed instance of the active release is restarted and rejoins the rotation', async () => {
    const before = (await status()).active!.instances[1]!;
    process.kill(before.pid!, 'SIGKILL');
    const after = await until('instance 1 restarted and healthy', (s) => {
      const i = s.active!.instances[1];
      return i !== undefined && i.pid !== before.pid && i.health === 'healthy' && i.restarts >= 1;
    });
    assert.notEqual(after.active!.instances[1]!.port, 0);
    assert.equal(after.active!.running, '2/2');
    assert.deepEqual(await instancesAnswering(10), new Set(['0', '1']), 'the restarted instance (new port) is routed');
  });

  it('smoke checks run against the new release before the switch; a failing one leaves traffic where it was', async () => {
    const good = await operate(h.client, '/api/v1/services/api/deploy', { version: 'v1' });
    assert.equal(good.operation.outcome, 'succeeded');
    assert.ok(good.events.some((e) => e.type === 'smoke.passed'));
    const bad = await operate(h.client, '/api/v1/services/api/deploy', { version: 'v2-badsmoke' });
    assert.equal(bad.operation.outcome, 'failed');
    assert.equal(bad.operation.error?.code, 'SMOKE_FAILED');
    assert.match(bad.operation.error?.message ?? '', /GET \/ready on api\/api-2\/green-0 answered 500/);
    assert.equal((await versionAt(h.proxyUrl, 'api.localhost')).version, 'v1');
  });

  it('a command that does not exist and a missing cwd end in clear errors, with no traffic change', async () => {
    const missing = await operate(h.client, '/api/v1/services/broken/deploy', { version: 'v1' });
    assert.equal(missing.operation.outcome, 'failed');
    // Commands run without a shell: a missing program fails the exec (no shell left to exit 127).
    assert.equal(missing.operation.error?.code, 'INSTANCE_START_FAILED');
    assert.match(missing.operation.error?.message ?? '', /not found \(command not found on PATH\)/);
    assert.match(missing.operation.error?.message ?? '', /definitely-not-a-command-xyz/);
    const nowhere = await operate(h.client, '/api/v1/services/nowhere/deploy', { version: 'v1' });
    assert.equal(nowhere.operation.outcome, 'failed');
    assert.equal(nowhere.operation.error?.code, 'INSTANCE_START_FAILED');
    assert.match(nowhere.operation.error?.message ?? '', /\/nonexistent\/cutover-test-dir/);
    const response = await request(h.proxyUrl, { headers: { host: 'broken.localhost' } });
    assert.equal(response.statusCode, 503);
    await response.body.dump();
  });

  it('cleanup stops the standby slot now', async () => {
    const v2 = await operate(h.client, '/api/v1/services/web/deploy', { version: 'v2' });
    assert.equal(v2.operation.outcome, 'succeeded');
    const standby = (await status()).standby!;
    assert.equal(standby.version, 'v1');
    const pids = standby.instances.map((i) => i.pid!);
    const cleanup = await operate(h.client, '/api/v1/services/web/cleanup');
    assert.equal(cleanup.operation.outcome, 'succeeded');
    const s = await status();
    assert.equal(s.standby, null);
    assert.equal(s.active?.version, 'v2');
    for (let i = 0; i < 40 && pids.some(isAlive); i++) await sleep(50);
    assert.deepEqual(pids.filter(isAlive), []);
  });

  it('rollback when the old slot is gone starts the previous release again and switches once healthy, under load', async () => {
    const traffic = new SteadyTraffic({
      url: h.proxyUrl,
      host: 'web.localhost',
      ratePerSecond: 200,
      maxDurationMs: 30_000,
    }).start();
    try {
      await traffic.waitForAnswers(100);
      const rollback = await operate(h.client, '/api/v1/services/web/rollback');
      assert.equal(rollback.operation.outcome, 'succeeded', JSON.stringify(rollback.operation.error));
      assert.equal(rollback.operation.kind, 'rollback');
      const types = rollback.events.map((e) => e.type);
      assert.ok(types.indexOf('release.healthy') < types.indexOf('traffic.switched'), types.join(','));
      await traffic.waitForAnswers(100);
    } finally {
      const summary = await traffic.stop();
      assert.equal(summary.failed, 0, summary.firstErrors.join(' | '));
      assert.ok((summary.byVersion.v1 ?? 0) > 0 && (summary.byVersion.v2 ?? 0) > 0);
    }
    const s = await status();
    assert.equal(s.active?.version, 'v1');
    assert.equal(s.active?.releaseId, 'web-1', 'the same release, started again');
    assert.equal(s.active?.slot, 'blue', 'in the slot that was idle');
    assert.equal(s.standby?.version, 'v2');
  });

  it('rollback --to goes to any kept release; unknown or never-served releases are refused', async () => {
    const v3 = await operate(h.client, '/api/v1/services/web/deploy', { version: 'v3' });
    assert.equal(v3.operation.outcome, 'succeeded');
    const to = await operate(h.client, '/api/v1/services/web/rollback', { to: 'v2' });
    assert.equal(to.operation.outcome, 'succeeded');
    assert.equal((await versionAt(h.proxyUrl)).version, 'v2');
    await assert.rejects(
      h.client.request<{ operation: OperationRecord }>('POST', '/api/v1/services/web/rollback', { to: 'v99' }),
      (error: Error & { code?: string }) => error.code === 'RELEASE_NOT_FOUND',
    );
    await assert.rejects(
      h.client.request('POST', '/api/v1/services/web/rollback', { to: 'v2' }),
      (error: Error & { code?: string }) => error.code === 'INVALID_STATE' && /already active/.test(error.message),
    );
    await assert.rejects(
      h.client.request('POST', '/api/v1/services/api/rollback', { to: 'api-2' }),
      (error: Error & { code?: string }) =>
        error.code === 'INVALID_STATE' && /never served traffic/.test(error.message),
    );
  });
});
