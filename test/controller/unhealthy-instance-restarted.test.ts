import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { SteadyTraffic } from '../../examples/demo/steady-traffic.js';
import type { ServiceStatus } from '../../src/controller/service-status.js';
import { isAlive } from '../support/cli-process.js';
import { startHarness, type Harness } from '../support/cutover-harness.js';
import { operate, sleep } from '../support/operations.js';

// Finding 7 of issue 12: a live but unhealthy instance was never restarted. An
// app that closed its port (a hung app) stayed out of rotation for ever with
// `restarts: 0`, because restarts followed only exits. With health.restart_after
// it is restarted in place (Kubernetes liveness) once it has failed that many
// checks after it turned unhealthy, on the crash back-off, with an event, and
// the other instance carries the traffic meanwhile.
describe('a live but unhealthy instance is restarted after health.restart_after failed checks', () => {
  let h: Harness;
  const status = (): Promise<ServiceStatus> => h.client.request<ServiceStatus>('GET', '/api/v1/services/web');
  const until = async (what: string, check: (s: ServiceStatus) => boolean): Promise<ServiceStatus> => {
    for (let i = 0; i < 200; i++) {
      const s = await status();
      if (check(s)) return s;
      await sleep(100);
    }
    throw new Error(`timed out waiting for ${what}: ${JSON.stringify(await status())}`);
  };

  before(async () => {
    // interval 200 ms, unhealthy_threshold 2: out of rotation after 2 failed checks, restarted after 3 more.
    h = await startHarness({ strategy: '{ type: blue-green, auto_switch: true, timeout: 20s }', restartAfter: '3' });
    const { operation } = await operate(h.client, '/api/v1/services/web/deploy', { version: 'v1' });
    assert.equal(operation.outcome, 'succeeded');
  });
  after(async () => {
    await h?.close();
  });

  it('an instance that closed its port is restarted, counted and recorded, with 0 failed requests through the proxy', async () => {
    const before = await until(
      'both instances healthy',
      (s) => s.active?.instances.length === 2 && s.active.instances.every((i) => i.health === 'healthy'),
    );
    const sick = before.active!.instances[0]!;
    assert.equal(sick.restarts, 0);
    const traffic = new SteadyTraffic({
      url: h.proxyUrl,
      host: 'web.localhost',
      ratePerSecond: 40,
      connections: 4,
      maxDurationMs: 30_000,
    }).start();
    await sleep(300);

    const closed = await request(`http://127.0.0.1:${sick.port}/admin/close-port`, { method: 'POST' });
    assert.equal(closed.statusCode, 200);
    await closed.body.dump();

    const after = await until('instance 0 restarted and healthy', (s) => {
      const i = s.active!.instances[0];
      return i !== undefined && i.pid !== sick.pid && i.health === 'healthy';
    });
    await sleep(300);
    const summary = await traffic.stop();

    const restarted = after.active!.instances[0]!;
    assert.equal(restarted.restarts, 1, 'the restart is counted');
    assert.notEqual(restarted.port, sick.port, 'started again on a fresh port');
    assert.equal(isAlive(sick.pid!), false, 'the hung process was stopped, not left behind');
    assert.equal(
      after.active!.instances[1]!.pid,
      before.active!.instances[1]!.pid,
      'the healthy instance was left alone',
    );

    const events = h.server.controller.store.eventsOfType('web', 'instance.unhealthy-restart');
    assert.equal(events.length, 1);
    assert.match(
      events[0]!.message,
      new RegExp(
        `instance ${sick.id} failed its health check while unhealthy \\(.*ECONNREFUSED.*\\); restart 1 in \\d+ ms`,
      ),
    );
    assert.deepEqual((events[0]!.data as { instance: string; reason: string }).reason, 'unhealthy');

    assert.ok(summary.sent > 50, `traffic ran (${summary.sent} requests)`);
    assert.equal(summary.failed, 0, `no failed requests: ${JSON.stringify(summary.firstErrors)}`);
    assert.ok((summary.byVersion.v1 ?? 0) === summary.ok);

    const answering = new Set<string>();
    for (let i = 0; i < 10; i++) {
      const response = await request(h.proxyUrl, { headers: { host: 'web.localhost' } });
      assert.equal(response.statusCode, 200);
      answering.add(((await response.body.json()) as { instance: string }).instance);
    }
    assert.deepEqual(answering, new Set(['0', '1']), 'the restarted instance is back in rotation');
  });
});
