import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { SteadyTraffic } from '../../../examples/demo/steady-traffic.js';
import { readToken } from '../../../src/http/admin-token.js';
import { AdminClient } from '../../../src/cli/admin-client.js';
import type { ServiceStatus } from '../../../src/controller/service-status.js';
import { runDoctor } from '../../../src/doctor/doctor-checks.js';
import { findFreePort } from '../../../src/runtime/process/free-port.js';
import { downServerProcess, startServerProcess, waitForExit } from '../../support/cli-process.js';
import { startDockerDaemon, type DockerDaemon } from '../../support/docker-daemon.js';
import {
  dockerConfigYaml,
  sampleService,
  startDockerHarness,
  type DockerHarness,
} from '../../support/docker-harness.js';
import { loadSampleImage } from '../../support/docker-test-image.js';
import { SAMPLE_APP } from '../../support/cutover-harness.js';
import { operate, sleep, versionAt } from '../../support/operations.js';

// The strategies, unchanged, on containers of a real Docker daemon: a
// blue-green deploy, switch back and rollback under steady load; a canary of
// a bad image pulled back by the builtin analysis; a rolling start-first
// update of three containers; and a controller SIGKILLed and restarted that
// finds its containers again by their labels.
let daemon: DockerDaemon;
// Another program on the host holds this port; image v6 hard-codes it (host networking shares the port space).
let blocker: net.Server;
let blocked: number;

before(async () => {
  blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  blocked = (blocker.address() as net.AddressInfo).port;
  daemon = await startDockerDaemon();
  await loadSampleImage(daemon, [
    { tag: 'v1' },
    { tag: 'v2' },
    { tag: 'v3-errors30' },
    { tag: 'v5-sick', healthcheck: 'failing' },
    { tag: `v6-port${blocked}` },
  ]);
});
after(async () => {
  await daemon?.stop();
  blocker?.close();
});

const containersOf = async (service: string): Promise<{ id: string; release: string; running: boolean }[]> =>
  (await daemon.docker.listContainers({ all: true, filters: { label: [`cutover.service=${service}`] } })).map((c) => ({
    id: c.Id,
    release: c.Labels['cutover.release'] ?? '',
    running: c.State === 'running',
  }));

describe('blue-green, canary and rolling deploys of containers', () => {
  let h: DockerHarness;
  const status = (name: string): Promise<ServiceStatus> =>
    h.client.request<ServiceStatus>('GET', `/api/v1/services/${name}`);

  before(async () => {
    h = await startDockerHarness(
      daemon,
      [
        sampleService(
          'web',
          `instances: 2
strategy: { type: blue-green, auto_switch: false, timeout: 20s, scale_down_delay: 10m }`,
        ),
        sampleService(
          'shop',
          `instances: 2
strategy:
  type: canary
  steps:
    - { weight: 25, pause: 3s }
    - { weight: 50, pause: 3s }
    - { weight: 100 }
  canary_instances: 1
  stickiness: { by: header, name: X-User-Id }
  analysis: [errors]
  timeout: 20s`,
        ),
        sampleService(
          'sick',
          `instances: 1
strategy: { type: blue-green, auto_switch: true, timeout: 30s }`,
        ),
        sampleService(
          'api',
          `instances: 3
strategy: { type: rolling, parallelism: 1, order: start-first, monitor: 500ms, failure_action: rollback, timeout: 20s }`,
        ),
        {
          name: 'blog',
          body: `hosts: [blog.localhost]
runtime: process
command: node server.js
cwd: ${SAMPLE_APP}
env: { APP_VERSION: "\${VERSION}" }
health: { path: /health, interval: 200ms }`,
        },
      ],
      `analysis:
  errors:
    metrics:
      - name: error-rate
        provider: { builtin: error-rate }
        interval: 300ms
        failure_condition: result > 0.05
        consecutive_error_limit: 30
`,
    );
    for (const service of ['web', 'shop', 'sick', 'api', 'blog']) {
      const first = await operate(h.client, `/api/v1/services/${service}/deploy`, { version: 'v1', autoSwitch: true });
      assert.equal(first.operation.outcome, 'succeeded', `${service}: ${JSON.stringify(first.operation.error)}`);
    }
  });
  after(async () => {
    await h?.close();
  });

  it('each service runs on its own runtime: the process service beside the containers is a local process', async () => {
    const blog = await status('blog');
    assert.equal(blog.active?.running, '1/1');
    const pid = blog.active?.instances[0]?.pid;
    assert.ok(pid, 'a process instance has its pid');
    assert.match(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'), /node\0server\.js/);
    assert.deepEqual(await containersOf('blog'), []);
    assert.deepEqual(await versionAt(h.proxyUrl, 'blog.localhost'), { status: 200, version: 'v1' });
    assert.deepEqual(await versionAt(h.proxyUrl, 'api.localhost'), { status: 200, version: 'v1' });
  });

  it('blue-green: v2 in green, switch, switch back, roll back --to v2, under 200 req/s with 0 failed requests', async () => {
    assert.deepEqual(
      (await containersOf('web')).map((c) => [c.release, c.running]),
      [
        ['web-1', true],
        ['web-1', true],
      ],
    );
    const traffic = new SteadyTraffic({
      url: h.proxyUrl,
      host: 'web.localhost',
      ratePerSecond: 200,
      connections: 8,
      maxDurationMs: 60_000,
    }).start();
    try {
      await traffic.waitForAnswers(100);
      const ready = await operate(h.client, '/api/v1/services/web/deploy', { version: 'v2' });
      assert.equal(ready.operation.phase, 'ready', JSON.stringify(ready.operation.error));
      assert.equal((await versionAt(h.proxyUrl, 'web.localhost')).version, 'v1', 'no traffic before the switch');
      assert.equal((await containersOf('web')).length, 4, 'green runs beside blue');
      const promoted = await operate(h.client, '/api/v1/services/web/promote');
      assert.equal(promoted.operation.outcome, 'succeeded');
      await traffic.waitForAnswers(100);
      assert.equal((await versionAt(h.proxyUrl, 'web.localhost')).version, 'v2');

      const back = await operate(h.client, '/api/v1/services/web/switch', { slot: 'blue' });
      assert.equal(back.operation.outcome, 'succeeded');
      await traffic.waitForAnswers(100);
      assert.equal((await versionAt(h.proxyUrl, 'web.localhost')).version, 'v1');

      // A rollback never goes forward (issue 20): back to the newer v2 is `rollback --to`.
      const rollback = await operate(h.client, '/api/v1/services/web/rollback', { to: 'v2' });
      assert.equal(rollback.operation.outcome, 'succeeded', JSON.stringify(rollback.operation.error));
      await traffic.waitForAnswers(100);
      assert.equal((await versionAt(h.proxyUrl, 'web.localhost')).version, 'v2');
    } finally {
      const summary = await traffic.stop();
      assert.equal(summary.failed, 0, `failed requests: ${summary.firstErrors.join(' | ')}`);
      assert.equal(summary.connectionErrors, 0);
      assert.ok(
        (summary.byVersion.v1 ?? 0) > 100 && (summary.byVersion.v2 ?? 0) > 100,
        `both versions answered: ${JSON.stringify(summary.byVersion)}`,
      );
    }
    const s = await status('web');
    assert.equal(s.active?.version, 'v2');
    assert.equal(s.active?.running, '2/2');
    assert.equal(s.standby?.version, 'v1');

    // What `cutover logs web` prints: the containers' output, prefixed with slot and instance.
    const logs = await request(`${h.server.adminUrl}/api/v1/services/web/logs`, {
      headers: { authorization: `Bearer ${h.server.token}` },
    });
    assert.equal(logs.statusCode, 200);
    assert.match(
      await logs.body.text(),
      new RegExp(`\\[${s.active?.slot ?? ''}-0\\] sample-app v2 instance 0 listening on 127\\.0\\.0\\.1:\\d+`),
    );
  });

  it('a version whose image the daemon does not have fails with INSTANCE_START_FAILED naming it, and the current release serves on', async () => {
    const done = await operate(h.client, '/api/v1/services/web/deploy', { version: 'v404', autoSwitch: true });
    assert.equal(done.operation.outcome, 'failed');
    assert.equal(done.operation.error?.code, 'INSTANCE_START_FAILED');
    assert.match(
      done.operation.error?.message ?? '',
      /image cutover-sample:v404 is not on the Docker daemon, and the pull policy is "never"/,
    );
    assert.deepEqual(await versionAt(h.proxyUrl, 'web.localhost'), { status: 200, version: 'v2' });
    assert.equal((await status('web')).active?.running, '2/2');
  });

  it('an image that binds a port already taken on the host fails naming the port conflict, and the current release serves on', async () => {
    const done = await operate(h.client, '/api/v1/services/sick/deploy', {
      version: `v6-port${blocked}`,
      autoSwitch: true,
    });
    assert.equal(done.operation.outcome, 'failed');
    assert.equal(done.operation.error?.code, 'INSTANCE_EXITED');
    assert.match(
      done.operation.error?.message ?? '',
      new RegExp(`a port conflict, 127\\.0\\.0\\.1:${blocked} is already in use`),
    );
    assert.deepEqual(await versionAt(h.proxyUrl, 'sick.localhost'), { status: 200, version: 'v1' });
  });

  it('cutover doctor refuses runtime: swarm on a daemon that is not in a swarm, with the fix', async () => {
    const file = path.join(h.dir, 'swarm.yaml');
    fs.writeFileSync(file, fs.readFileSync(h.configFile, 'utf8').replace('runtime: docker', 'runtime: swarm'));
    const swarm = (await runDoctor({ configFile: file, env: {} })).find((r) => r.id === 'runtime.swarm');
    assert.equal(swarm?.status, 'fail');
    assert.match(swarm?.message ?? '', /is not in a swarm \(inactive\)/);
    assert.match(swarm?.fix ?? '', /docker swarm init/);
  });

  it("a container whose own HEALTHCHECK fails never gets traffic, even though cutover's check passes", async () => {
    const done = await operate(h.client, '/api/v1/services/sick/deploy', { version: 'v5-sick', autoSwitch: true });
    assert.equal(done.operation.outcome, 'failed');
    // Docker's own HEALTHCHECK says starting (no verdict, not counted), then unhealthy: once cutover's check
    // failed its threshold on that, the deploy fails at once rather than at its 30 s timeout.
    assert.equal(done.operation.error?.code, 'HEALTH_FAILED', done.operation.error?.message);
    const said =
      done.events.map((e) => `${e.message} ${JSON.stringify(e.data ?? '')}`).join('\n') +
      (done.operation.error?.message ?? '');
    assert.match(said, /HEALTHCHECK says (starting|unhealthy)/, said);
    assert.deepEqual(await versionAt(h.proxyUrl, 'sick.localhost'), { status: 200, version: 'v1' });
  });

  it('canary: a bad image (30% errors) is pulled back to weight 0 by the builtin analysis and its container stopped', async () => {
    const traffic = new SteadyTraffic({
      url: h.proxyUrl,
      host: 'shop.localhost',
      ratePerSecond: 200,
      clientHeader: 'x-user-id',
      maxDurationMs: 40_000,
    }).start();
    await traffic.waitForAnswers(100);
    const done = await operate(h.client, '/api/v1/services/shop/deploy', { version: 'v3-errors30' });
    const canaryId = done.operation.releaseId!;
    // Read now, not the proxy process's last reading (up to 250 ms old): every worker is asked.
    const counted = async (): Promise<number> => {
      await h.server.router.refreshCounters?.();
      return h.server.router.counters().find((c) => c.releaseId === canaryId)?.requests ?? 0;
    };
    const atAbort = await counted();
    await traffic.waitForAnswers(200);
    const summary = await traffic.stop();
    assert.equal(done.operation.outcome, 'failed', JSON.stringify(done.operation));
    assert.equal(done.operation.error?.code, 'ANALYSIS_FAILED');
    assert.match(done.operation.error?.message ?? '', /error-rate/);
    assert.ok(
      done.events.some((e) => e.type === 'canary.weight' && (e.data as { weight: number }).weight === 0),
      'the canary was pulled to weight 0',
    );
    assert.ok(atAbort > 0, 'the canary received traffic before the abort');
    assert.equal(await counted(), atAbort, 'no request reached the bad canary after the abort');
    assert.deepEqual(Object.keys(summary.failedByVersion), ['v3-errors30'], 'only the canary failed requests');
    const s = await status('shop');
    assert.equal(s.active?.version, 'v1');
    assert.equal(s.canary, null);
    for (let i = 0; i < 100 && (await containersOf('shop')).some((c) => c.release === canaryId); i++) await sleep(50);
    assert.deepEqual(
      (await containersOf('shop')).filter((c) => c.release === canaryId),
      [],
      "the bad image's container is gone",
    );
  });

  it('rolling: 3 containers replaced one at a time, start-first, with 0 failed requests', async () => {
    const before = await containersOf('api');
    assert.equal(before.length, 3);
    const traffic = new SteadyTraffic({
      url: h.proxyUrl,
      host: 'api.localhost',
      ratePerSecond: 200,
      maxDurationMs: 40_000,
    }).start();
    let done;
    try {
      await traffic.waitForAnswers(100);
      done = await operate(h.client, '/api/v1/services/api/deploy', { version: 'v2' });
      assert.equal(done.operation.outcome, 'succeeded', JSON.stringify(done.operation.error));
      await traffic.waitForAnswers(100);
    } finally {
      const summary = await traffic.stop();
      assert.equal(summary.failed, 0, summary.firstErrors.join(' | '));
      assert.equal(summary.connectionErrors, 0);
      assert.ok((summary.byVersion.v1 ?? 0) > 0 && (summary.byVersion.v2 ?? 0) > 0, JSON.stringify(summary.byVersion));
    }
    const shares = done.events
      .filter((e) => e.type === 'rolling.share')
      .map((e) => (e.data as { weight: number }).weight);
    assert.deepEqual(
      shares.filter((w, i) => w !== shares[i - 1]),
      [33, 67, 100],
      'traffic followed the healthy new containers',
    );
    const s = await status('api');
    assert.equal(s.active?.version, 'v2');
    assert.equal(s.active?.running, '3/3');
    assert.equal(s.standby, null, 'a rolling update keeps no second set');
    const after = await containersOf('api');
    assert.equal(after.length, 3, 'three containers, the old ones removed');
    assert.ok(
      after.every((c) => !before.some((b) => b.id === c.id)),
      'every container was replaced',
    );
  });
});

describe('a controller SIGKILLed and restarted', () => {
  let dir: string;
  let server: ChildProcess | null = null;
  let adminPort: number;
  let proxyPort: number;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-docker-restart-'));
    proxyPort = await findFreePort();
    adminPort = await findFreePort();
    fs.writeFileSync(
      path.join(dir, 'cutover.yaml'),
      dockerConfigYaml(daemon, dir, { proxy: proxyPort, admin: adminPort }, [
        sampleService('web', 'instances: 2\nstrategy: { type: blue-green, auto_switch: true, timeout: 20s }'),
      ]),
    );
    server = await startServerProcess('cutover.yaml', dir, adminPort);
  });
  after(async () => {
    await downServerProcess(server, dir);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('finds its containers by their labels and serves on; SIGTERM leaves them running, cutover down removes them', async () => {
    const client = (): AdminClient =>
      new AdminClient({ url: `http://127.0.0.1:${adminPort}`, token: readToken(path.join(dir, 'state'), {}) ?? '' });
    const deployed = await operate(client(), '/api/v1/services/web/deploy', { version: 'v1' });
    assert.equal(deployed.operation.outcome, 'succeeded', JSON.stringify(deployed.operation.error));
    const before = await containersOf('web');
    assert.equal(before.filter((c) => c.running).length, 2);

    server!.kill('SIGKILL');
    await waitForExit(server!);
    assert.deepEqual(
      (await containersOf('web')).map((c) => c.running),
      [true, true],
      'containers outlive the controller',
    );

    server = await startServerProcess('cutover.yaml', dir, adminPort);
    assert.deepEqual(await versionAt(`http://127.0.0.1:${proxyPort}`, 'web.localhost'), { status: 200, version: 'v1' });
    const s = await client().request<ServiceStatus>('GET', '/api/v1/services/web');
    assert.equal(s.active?.running, '2/2');
    assert.deepEqual(
      (await containersOf('web')).map((c) => c.id).sort(),
      before.map((c) => c.id).sort(),
      'the same containers were adopted, none restarted',
    );

    server.kill('SIGTERM');
    await waitForExit(server);
    assert.deepEqual(
      (await containersOf('web')).map((c) => c.id).sort(),
      before.map((c) => c.id).sort(),
      'SIGTERM stops the controller only',
    );
    await downServerProcess(null, dir);
    assert.deepEqual(await containersOf('web'), [], 'cutover down removes the containers');
  });
});
