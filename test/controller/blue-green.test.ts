import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import WebSocket from 'ws';
import { SteadyTraffic } from '../../examples/demo/steady-traffic.js';
import type { ServiceStatus } from '../../src/controller/service-status.js';
import type { CutoverError } from '../../src/core/errors.js';
import type { OperationRecord, ReleaseRecord } from '../../src/store/records.js';
import { SAMPLE_APP, startHarness, type Harness } from '../support/cutover-harness.js';
import { operate, sleep, versionAt } from '../support/operations.js';

// The runbook of a blue-green deploy with real processes and real traffic:
// deploy to green, verify, switch, keep blue, switch back, roll back, all
// under steady load on kept-alive connections with not one failed request.
describe('blue-green deploys on the embedded proxy and process runtime', () => {
  let h: Harness;
  const status = (): Promise<ServiceStatus> => h.client.request<ServiceStatus>('GET', '/api/v1/services/web');

  before(async () => {
    h = await startHarness({
      // A timeout well past the 5 s start period and 2 failed checks at 200 ms: a release whose every
      // instance fails must fail on its health threshold (HEALTH_FAILED), not wait for the timeout.
      strategy: '{ type: blue-green, auto_switch: false, timeout: 10s, scale_down_delay: 10m }',
      // 5 s: a 3 s request fits in it with 2 s to spare (7 s and a 5 s request before: the same room, 2 s longer).
      drainTimeout: '5s',
      // An app that boots for 1.5 s before it opens its port (a Python or JVM service), for the slow-start case.
      extraServiceYaml: `  slow:
    hosts: [slow.localhost]
    command: node server.js
    cwd: ${SAMPLE_APP}
    env: { APP_VERSION: "\${VERSION}", SLOW_START_MS: "1500" }
    instances: 2
    health: { path: /health, interval: 200ms, timeout: 1s, unhealthy_threshold: 2 }
    strategy: { type: blue-green, auto_switch: true, timeout: 20s }
`,
    });
  });
  after(async () => {
    await h?.close();
  });

  it('answers 503 with a clear body before any release is active', async () => {
    const response = await request(h.proxyUrl, { headers: { host: 'web.localhost' } });
    assert.equal(response.statusCode, 503);
    const body = (await response.body.json()) as { error: { code: string; message: string; requestId: string } };
    assert.equal(body.error.code, 'NO_UPSTREAM');
    // A public page says what to do, not which service or instance is behind the host (issue 12, finding 10).
    assert.match(body.error.message, /not available right now/);
    assert.equal(body.error.requestId, response.headers['x-request-id']);
  });

  it('deploys v1 with --auto-switch: instances start, pass health checks, traffic moves', async () => {
    const { operation, events } = await operate(h.client, '/api/v1/services/web/deploy', {
      version: 'v1',
      autoSwitch: true,
    });
    assert.equal(operation.outcome, 'succeeded', JSON.stringify(operation.error));
    const types = events.map((e) => e.type);
    for (const step of [
      'deploy.started',
      'instance.started',
      'release.healthy',
      'traffic.switched',
      'deploy.succeeded',
    ])
      assert.ok(types.includes(step), step);
    assert.ok(types.indexOf('release.healthy') < types.indexOf('traffic.switched'), 'health before the switch');
    assert.deepEqual(await versionAt(h.proxyUrl), { status: 200, version: 'v1' });
    const s = await status();
    assert.equal(s.active?.slot, 'blue');
    assert.equal(s.active?.version, 'v1');
    assert.equal(s.active?.running, '2/2');
  });

  it('deploy v2, switch back to v1, then roll back --to v2 under 300 req/s: 0 failed, and the traffic really moved', async () => {
    const traffic = new SteadyTraffic({
      url: h.proxyUrl,
      host: 'web.localhost',
      ratePerSecond: 300,
      connections: 8,
      maxDurationMs: 60_000,
    }).start();
    try {
      await traffic.waitForAnswers(150);
      // Without auto switch the deploy stops at `ready`: healthy in green, no traffic yet.
      const ready = await operate(h.client, '/api/v1/services/web/deploy', { version: 'v2' });
      assert.equal(ready.operation.phase, 'ready');
      assert.equal((await versionAt(h.proxyUrl)).version, 'v1');
      // What a person checks before promoting: the new release, its slot and its instances' health.
      const waiting = await status();
      assert.equal(waiting.incoming?.version, 'v2');
      assert.equal(waiting.incoming?.slot, 'green');
      assert.equal(waiting.incoming?.running, '2/2');
      const promoted = await operate(h.client, '/api/v1/services/web/promote');
      assert.equal(promoted.operation.outcome, 'succeeded');
      await traffic.waitForAnswers(150);
      assert.equal((await versionAt(h.proxyUrl)).version, 'v2');
      let s = await status();
      assert.equal(s.active?.slot, 'green');
      assert.equal(s.standby?.version, 'v1', 'the old slot keeps running for an instant rollback');
      assert.equal(s.incoming, null, 'once it serves, it is the active release');

      const back = await operate(h.client, '/api/v1/services/web/switch', { slot: 'blue' });
      assert.equal(back.operation.outcome, 'succeeded');
      await traffic.waitForAnswers(150);
      assert.equal((await versionAt(h.proxyUrl)).version, 'v1');

      // A rollback never goes forward (issue 20): v2 is newer than v1, so a plain rollback refuses and names it.
      await assert.rejects(h.client.request('POST', '/api/v1/services/web/rollback', {}), (error: CutoverError) => {
        assert.equal(error.code, 'NOTHING_TO_ROLL_BACK');
        assert.match(error.hint ?? '', /v2 \(web-2\) is newer/);
        return true;
      });
      const rollback = await operate(h.client, '/api/v1/services/web/rollback', { to: 'v2' });
      assert.equal(rollback.operation.outcome, 'succeeded');
      assert.match(rollback.events[0]?.message ?? '', /^rollback of web from v1 \(web-1\) to v2 \(web-2\)/);
      await traffic.waitForAnswers(150);
      assert.equal((await versionAt(h.proxyUrl)).version, 'v2');
      s = await status();
      assert.equal(s.active?.version, 'v2');
      assert.equal(s.standby?.version, 'v1');
    } finally {
      const summary = await traffic.stop();
      assert.equal(summary.failed, 0, `failed requests: ${summary.firstErrors.join(' | ')}`);
      assert.equal(summary.connectionErrors, 0);
      assert.ok(
        (summary.byVersion.v1 ?? 0) > 100 && (summary.byVersion.v2 ?? 0) > 100,
        `both versions answered: ${JSON.stringify(summary.byVersion)}`,
      );
    }
  });

  it('a 3 s request and a WebSocket opened before a switch finish on the old release; the socket closes at the drain timeout', async () => {
    // v2 is active in green, v1 standby in blue.
    const slow = request(`${h.proxyUrl}/slow?ms=3000`, { headers: { host: 'web.localhost' } });
    const ws = new WebSocket(`ws://127.0.0.1:${h.proxyPort}/ws`, { headers: { host: 'web.localhost' } });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const echo = (text: string): Promise<string> =>
      new Promise((resolve) => {
        ws.once('message', (d: Buffer) => resolve(d.toString()));
        ws.send(text);
      });
    assert.equal(await echo('before'), 'v2:before');
    const closed = new Promise<number>((resolve) => ws.once('close', () => resolve(Date.now())));

    await sleep(200);
    const switched = await operate(h.client, '/api/v1/services/web/switch', { slot: 'blue' });
    assert.equal(switched.operation.outcome, 'succeeded');
    const switchedAt = Date.now();
    assert.equal((await versionAt(h.proxyUrl)).version, 'v1', 'new requests go to the new release at once');
    assert.equal(await echo('after'), 'v2:after', 'the open WebSocket still reaches the old release');

    const response = await slow;
    assert.equal(response.statusCode, 200);
    assert.deepEqual(((await response.body.json()) as { version: string }).version, 'v2');

    const closedAt = await closed;
    // drain_timeout is 5 s: the 3 s request fits in it; the socket lives until then, not much longer.
    assert.ok(
      closedAt - switchedAt >= 4500 && closedAt - switchedAt < 10_000,
      `closed ${closedAt - switchedAt} ms after the switch`,
    );
    const fresh = new WebSocket(`ws://127.0.0.1:${h.proxyPort}/ws`, { headers: { host: 'web.localhost' } });
    await new Promise((resolve, reject) => {
      fresh.once('open', resolve);
      fresh.once('error', reject);
    });
    const reply = await new Promise<string>((resolve) => {
      fresh.once('message', (d: Buffer) => resolve(d.toString()));
      fresh.send('hi');
    });
    assert.equal(reply, 'v1:hi');
    fresh.close();
  });

  it('a version whose health check never passes fails once every instance failed its threshold, quoting their last answers, and never receives a request', async () => {
    const traffic = new SteadyTraffic({
      url: h.proxyUrl,
      host: 'web.localhost',
      ratePerSecond: 100,
      maxDurationMs: 30_000,
    }).start();
    const { operation } = await operate(h.client, '/api/v1/services/web/deploy', {
      version: 'v3-unhealthy',
      autoSwitch: true,
    });
    const summary = await traffic.stop();
    assert.equal(operation.outcome, 'failed');
    assert.equal(operation.error?.code, 'HEALTH_FAILED', operation.error?.message);
    const message = operation.error?.message ?? '';
    assert.match(
      message,
      /cannot become healthy: all 2 instances failed 2 health checks in a row after the start period/,
    );
    // The last answer of each instance, by instance: the sample app's unhealthy /health answers 500.
    for (const index of [0, 1])
      assert.match(
        message,
        new RegExp(`${operation.releaseId}/[a-z]+-${index} is unhealthy: HTTP 500 \\(expected 200-399\\)`),
        message,
      );
    assert.equal(summary.failed, 0);
    assert.deepEqual(Object.keys(summary.byVersion), ['v1'], 'only the old version answered');
    const counters = h.server.router.counters().find((c) => c.releaseId === operation.releaseId);
    assert.equal(counters?.requests ?? 0, 0, 'the unhealthy release got no request');
    const s = await status();
    assert.equal(s.active?.version, 'v1');
    assert.equal(s.operation, null, 'the lock is released');
  });

  it('a slow starter that answers 500 once its port opens fails on its threshold too, not at the timeout', async () => {
    // Its refused checks while it boots turn it unhealthy before it has answered a failed check; the answers
    // that complete the threshold change no status, and the deploy must still end on them.
    const { operation } = await operate(h.client, '/api/v1/services/slow/deploy', {
      version: 'v1-slowstart-unhealthy',
    });
    assert.equal(operation.error?.code, 'HEALTH_FAILED', operation.error?.message);
    assert.match(
      operation.error?.message ?? '',
      /all 2 instances failed 2 health checks in a row; last answers: .*HTTP 500/,
    );
    const took = (operation.finishedAt ?? 0) - operation.startedAt;
    assert.ok(took < 10_000, `failed after ${took} ms (the timeout is 20 s)`);
  });

  it('a version that crashes at start fails with the exit code and its log, and traffic stays', async () => {
    const { operation } = await operate(h.client, '/api/v1/services/web/deploy', {
      version: 'v4-crash',
      autoSwitch: true,
    });
    assert.equal(operation.outcome, 'failed');
    assert.equal(operation.error?.code, 'INSTANCE_EXITED');
    assert.match(operation.error?.message ?? '', /exited with code 1/);
    assert.match(operation.error?.message ?? '', /simulated crash/);
    assert.equal((await versionAt(h.proxyUrl)).version, 'v1');
  });

  it('a version with a hard-coded port that is taken fails naming the port conflict, and traffic stays', async () => {
    // The port the running v1 instance listens on: what an app that ignores $PORT would collide with.
    const taken = h.server.controller.supervisor.instancesOf(h.server.controller.activeRelease('web')!.id)[0]!.info
      .port;
    const { operation } = await operate(h.client, '/api/v1/services/web/deploy', {
      version: `v4-port${taken}`,
      autoSwitch: true,
    });
    assert.equal(operation.outcome, 'failed');
    assert.equal(operation.error?.code, 'INSTANCE_EXITED');
    assert.match(
      operation.error?.message ?? '',
      new RegExp(`a port conflict, 127\\.0\\.0\\.1:${taken} is already in use`),
    );
    assert.match(operation.error?.message ?? '', /the app must listen on \$PORT/);
    assert.equal((await versionAt(h.proxyUrl)).version, 'v1');
  });

  it('a version that never opens its port times out with the failing check named, and traffic stays', async () => {
    const { operation } = await operate(h.client, '/api/v1/services/web/deploy', {
      version: 'v5-noport',
      autoSwitch: true,
    });
    assert.equal(operation.outcome, 'failed');
    assert.equal(operation.error?.code, 'HEALTH_TIMEOUT');
    assert.match(operation.error?.message ?? '', /ECONNREFUSED|connect/i);
    assert.equal((await versionAt(h.proxyUrl)).version, 'v1');
  });

  it('a second deploy while one is running is refused and names the holder', async () => {
    const { operation } = await h.client.request<{ operation: OperationRecord }>(
      'POST',
      '/api/v1/services/web/deploy',
      { version: 'v6', actor: 'alice@laptop' },
    );
    await assert.rejects(
      h.client.request('POST', '/api/v1/services/web/deploy', { version: 'v7', actor: 'bob@ci' }),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, 'DEPLOY_LOCKED');
        assert.match(error.message, /alice@laptop/);
        assert.match(error.message, new RegExp(operation.id));
        assert.match(error.message, /since \d{4}-\d\d-\d\dT/);
        return true;
      },
    );
    const done = await operate(h.client, '/api/v1/services/web/abort');
    assert.equal(done.operation.outcome, 'aborted');
    assert.equal((await versionAt(h.proxyUrl)).version, 'v1');
  });

  it('history tells every release and operation with outcomes; secrets are redacted in snapshots', async () => {
    const history = await h.client.request<{ releases: ReleaseRecord[]; operations: OperationRecord[] }>(
      'GET',
      '/api/v1/services/web/history',
    );
    const byVersion = Object.fromEntries(history.releases.map((r) => [r.version, r]));
    assert.equal(byVersion.v1?.state, 'active');
    assert.equal(byVersion.v2?.state, 'stopped', 'the failed deploys into green replaced the standby v2');
    assert.equal(byVersion['v3-unhealthy']?.state, 'failed');
    assert.equal(byVersion['v4-crash']?.state, 'failed');
    assert.equal(byVersion.v6?.state, 'aborted');
    assert.equal(byVersion.v1?.createdBy, 'test');
    assert.match(byVersion.v1?.configHash ?? '', /^[0-9a-f]{64}$/);
    const env = (byVersion.v1?.config as { env: Record<string, string> }).env;
    assert.equal(env.API_TOKEN, '[redacted]');
    assert.equal(env.APP_VERSION, '${VERSION}');
    assert.ok(!JSON.stringify(history).includes('s3cret-value'));
    const kinds = history.operations.map((o) => `${o.kind}:${o.outcome}`);
    assert.ok(
      kinds.includes('rollback:succeeded') && kinds.includes('switch:succeeded') && kinds.includes('deploy:aborted'),
      kinds.join(','),
    );
  });
});
