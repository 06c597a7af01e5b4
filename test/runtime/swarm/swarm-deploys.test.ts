import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SteadyTraffic } from '../../../examples/demo/steady-traffic.js';
import { readToken } from '../../../src/http/admin-token.js';
import { AdminClient } from '../../../src/cli/admin-client.js';
import type { ServiceStatus } from '../../../src/controller/service-status.js';
import type { EventRecord, OperationRecord } from '../../../src/store/records.js';
import { parseConfig } from '../../../src/config/load-config.js';
import { runDoctor } from '../../../src/doctor/doctor-checks.js';
import type { InstanceSpec } from '../../../src/runtime/index.js';
import { findFreePort } from '../../../src/runtime/process/free-port.js';
import { SwarmRuntime } from '../../../src/runtime/swarm/swarm-runtime.js';
import { downServerProcess, startServerProcess, waitForExit } from '../../support/cli-process.js';
import type { DockerDaemon } from '../../support/docker-daemon.js';
import { dockerConfigYaml, startDockerHarness, type DockerHarness } from '../../support/docker-harness.js';
import { loadSampleImage } from '../../support/docker-test-image.js';
import { operate, sleep, versionAt } from '../../support/operations.js';
import { startSwarmDaemon, swarmService } from '../../support/swarm-daemon.js';
import { swarmRuntimeContract } from './swarm-contract.js';

// runtime: swarm on a real single-node Swarm (its own dockerd, loopback only):
// blue-green across two Swarm services under steady load, Swarm's own rolling
// update rolling back a version whose HEALTHCHECK fails, and a cutover server
// SIGKILLed and restarted that finds its services by their labels. The
// Runtime contract runs on the same swarm at the end of the file.
let daemon: DockerDaemon;

before(async () => {
  daemon = await startSwarmDaemon();
  await loadSampleImage(daemon, [
    { tag: 'v1', healthcheck: true, healthRetries: 5 },
    { tag: 'v2', healthcheck: true, healthRetries: 5 },
    { tag: 'v5-sick', healthcheck: 'failing' },
  ]);
});
after(async () => {
  await daemon?.stop();
});

interface SwarmServiceRow {
  name: string;
  release: string;
  slot: string;
  replicas: number;
}

const swarmServicesOf = async (service: string): Promise<SwarmServiceRow[]> =>
  (await daemon.docker.listServices({ filters: { label: [`cutover.service=${service}`] } }))
    .map((s) => ({
      name: s.Spec?.Name ?? '',
      release: s.Spec?.Labels?.['cutover.release'] ?? '',
      slot: s.Spec?.Labels?.['cutover.slot'] ?? '',
      replicas: s.Spec?.Mode?.Replicated?.Replicas ?? 0,
    }))
    .sort((a, b) => a.release.localeCompare(b.release));

describe('blue-green and native rolling deploys on Swarm', () => {
  let h: DockerHarness;
  const status = (name: string): Promise<ServiceStatus> =>
    h.client.request<ServiceStatus>('GET', `/api/v1/services/${name}`);

  before(async () => {
    h = await startDockerHarness(daemon, [
      swarmService(
        'web',
        'instances: 2\nstrategy: { type: blue-green, auto_switch: false, timeout: 30s, scale_down_delay: 10m }',
      ),
      swarmService(
        'api',
        'instances: 2\nstrategy: { type: rolling, parallelism: 1, order: start-first, monitor: 2s, failure_action: rollback, timeout: 40s }',
      ),
    ]);
    const [web, api] = await Promise.all(
      ['web', 'api'].map((service) =>
        operate(h.client, `/api/v1/services/${service}/deploy`, { version: 'v1', autoSwitch: true }),
      ),
    );
    assert.equal(web!.operation.outcome, 'succeeded', JSON.stringify(web!.operation.error));
    assert.equal(api!.operation.outcome, 'succeeded', JSON.stringify(api!.operation.error));
  });
  after(async () => {
    await h?.close();
  });

  it('cutover doctor finds the daemon and that it is a swarm manager', async () => {
    const results = await runDoctor({ configFile: h.configFile, env: {} });
    assert.equal(results.find((r) => r.id === 'runtime.docker')?.status, 'ok');
    const swarm = results.find((r) => r.id === 'runtime.swarm');
    assert.equal(swarm?.status, 'ok', swarm?.message);
    assert.match(swarm?.message ?? '', /is a swarm manager/);
  });

  it('blue-green: v2 as a second Swarm service, switch and rollback under steady load with 0 failed requests', async () => {
    assert.deepEqual(
      (await swarmServicesOf('web')).map((s) => [s.release, s.slot, s.replicas]),
      [['web-1', 'blue', 2]],
    );
    const traffic = new SteadyTraffic({
      url: h.proxyUrl,
      host: 'web.localhost',
      ratePerSecond: 100,
      connections: 4,
      maxDurationMs: 60_000,
    }).start();
    // Failed requests so far after each step: says where a failure happened.
    const steps: string[] = [];
    const step = (name: string): void => {
      steps.push(`${name}: ${traffic.summary.failed}`);
    };
    try {
      await traffic.waitForAnswers(50);
      const ready = await operate(h.client, '/api/v1/services/web/deploy', { version: 'v2' });
      assert.equal(ready.operation.phase, 'ready', JSON.stringify(ready.operation.error));
      step('v2 ready');
      assert.deepEqual(
        (await swarmServicesOf('web')).map((s) => [s.release, s.slot, s.replicas]),
        [
          ['web-1', 'blue', 2],
          ['web-2', 'green', 2],
        ],
        'green is a service of its own',
      );
      assert.equal((await versionAt(h.proxyUrl, 'web.localhost')).version, 'v1', 'no traffic before the switch');
      const promoted = await operate(h.client, '/api/v1/services/web/promote');
      assert.equal(promoted.operation.outcome, 'succeeded');
      await traffic.waitForAnswers(50);
      step('switched to v2');
      assert.equal((await versionAt(h.proxyUrl, 'web.localhost')).version, 'v2');

      const rollback = await operate(h.client, '/api/v1/services/web/rollback');
      assert.equal(rollback.operation.outcome, 'succeeded', JSON.stringify(rollback.operation.error));
      await traffic.waitForAnswers(50);
      step('rolled back');
      assert.equal((await versionAt(h.proxyUrl, 'web.localhost')).version, 'v1');
    } catch (error) {
      steps.push(`failed at: ${(error as Error).message.split('\n')[0]}`);
      // The step that failed is the news; the traffic summary below would only hide it.
      await traffic.stop();
      throw error;
    }
    const summary = await traffic.stop();
    assert.equal(
      summary.failed,
      0,
      `failed requests (${steps.join(', ')}): ${summary.firstErrors.slice(0, 2).join(' | ')}`,
    );
    assert.equal(summary.connectionErrors, 0);
    assert.ok(
      (summary.byVersion.v1 ?? 0) > 50 && (summary.byVersion.v2 ?? 0) > 20,
      `both versions answered: ${JSON.stringify(summary.byVersion)}`,
    );
    const s = await status('web');
    assert.equal(s.active?.version, 'v1');
    assert.equal(s.active?.running, '2/2');
    assert.deepEqual(new Set(s.active?.instances.map((i) => i.port)).size, 2, 'each task on its own port');
  });

  it("rolling: Swarm's own update to a version whose HEALTHCHECK fails is rolled back by Swarm (failure_action: rollback), and cutover says so", async (t) => {
    const before = await swarmServicesOf('api');
    assert.deepEqual(
      before.map((s) => [s.release, s.replicas]),
      [['api-1', 2]],
    );
    const done = await operate(h.client, '/api/v1/services/api/deploy', { version: 'v5-sick' });
    assert.equal(done.operation.outcome, 'failed', JSON.stringify(done.operation));
    assert.equal(done.operation.error?.code, 'SWARM_ROLLED_BACK');
    assert.match(
      done.operation.error?.message ?? '',
      /Swarm rolled back the update of \S+ to v5-sick: .+; v1 \(api-1\) serves api/,
    );
    t.diagnostic(`cutover said: ${done.operation.error?.message ?? ''}`);
    assert.match(
      done.operation.error?.message ?? '',
      /update rolled back due to failure or early termination of task .*HEALTHCHECK says unhealthy/,
      "Swarm's reason, and the task's",
    );
    const types = done.events.map((e) => e.type);
    assert.ok(
      types.includes('swarm.update-started') && types.includes('swarm.update-rollback-completed'),
      types.join(', '),
    );
    assert.deepEqual(await versionAt(h.proxyUrl, 'api.localhost'), { status: 200, version: 'v1' });
    const s = await status('api');
    assert.equal(s.active?.version, 'v1');
    assert.equal(s.active?.running, '2/2');
    assert.deepEqual(
      (await swarmServicesOf('api')).map((row) => [row.name, row.release]),
      before.map((row) => [row.name, row.release]),
      'the same service, back on v1',
    );
  });

  it("rolling: Swarm's own update to a good version replaces the tasks in place, and cutover follows them", async () => {
    const before = await swarmServicesOf('api');
    const done = await operate(h.client, '/api/v1/services/api/deploy', { version: 'v2' });
    assert.equal(done.operation.outcome, 'succeeded', JSON.stringify(done.operation.error));
    assert.ok(
      done.events.some((e) => e.type === 'swarm.update-completed'),
      done.events.map((e) => e.type).join(', '),
    );
    assert.deepEqual(await versionAt(h.proxyUrl, 'api.localhost'), { status: 200, version: 'v2' });
    const s = await status('api');
    assert.equal(s.active?.version, 'v2');
    assert.equal(s.active?.running, '2/2');
    const after = await swarmServicesOf('api');
    assert.deepEqual(
      after.map((row) => [row.name, row.release]),
      [[before[0]?.name, s.active?.releaseId]],
      'one service, updated in place',
    );
  });

  it("abort during Swarm's rolling update asks Swarm to roll back: the deploy ends aborted and v2 serves on", async () => {
    const { operation } = await h.client.request<{ operation: OperationRecord }>(
      'POST',
      '/api/v1/services/api/deploy',
      { version: 'v1', actor: 'test' },
    );
    const answer = async (): Promise<{ operation: OperationRecord; events: EventRecord[] }> =>
      h.client.request('GET', `/api/v1/operations/${operation.id}`);
    for (let i = 0; i < 200 && !(await answer()).events.some((e) => e.type === 'swarm.update-started'); i += 1)
      await sleep(50);
    await h.client.request('POST', '/api/v1/services/api/abort', { actor: 'alice' });
    let done = await answer();
    for (let i = 0; i < 600 && done.operation.outcome === null; i += 1) {
      await sleep(100);
      done = await answer();
    }
    assert.equal(done.operation.outcome, 'aborted', JSON.stringify(done.operation));
    assert.equal(done.operation.error?.code, 'DEPLOY_ABORTED');
    assert.match(done.operation.error?.message ?? '', /aborted by alice/);
    assert.ok(
      done.events.some((e) => e.type === 'swarm.update-rollback-completed'),
      done.events.map((e) => e.type).join(', '),
    );
    assert.deepEqual(await versionAt(h.proxyUrl, 'api.localhost'), { status: 200, version: 'v2' });
    assert.equal((await status('api')).active?.version, 'v2');
  });
});

describe('a cutover server SIGKILLed and restarted', () => {
  let dir: string;
  let server: ChildProcess | null = null;
  let adminPort: number;
  let proxyPort: number;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-swarm-restart-'));
    proxyPort = await findFreePort();
    adminPort = await findFreePort();
    fs.writeFileSync(
      path.join(dir, 'cutover.yaml'),
      dockerConfigYaml(daemon, dir, { proxy: proxyPort, admin: adminPort }, [
        swarmService('shop', 'instances: 2\nstrategy: { type: blue-green, auto_switch: true, timeout: 30s }'),
      ]),
    );
    server = await startServerProcess('cutover.yaml', dir, adminPort);
  });
  after(async () => {
    await downServerProcess(server, dir);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('finds its Swarm service by its labels and serves on, with no second service; SIGTERM leaves it, cutover down removes it', async () => {
    const client = (): AdminClient =>
      new AdminClient({ url: `http://127.0.0.1:${adminPort}`, token: readToken(path.join(dir, 'state'), {}) ?? '' });
    const deployed = await operate(client(), '/api/v1/services/shop/deploy', { version: 'v1' });
    assert.equal(deployed.operation.outcome, 'succeeded', JSON.stringify(deployed.operation.error));
    const before = await swarmServicesOf('shop');
    assert.equal(before.length, 1);

    server!.kill('SIGKILL');
    await waitForExit(server!);
    assert.deepEqual(await swarmServicesOf('shop'), before, 'the service outlives the controller');

    server = await startServerProcess('cutover.yaml', dir, adminPort);
    assert.deepEqual(await versionAt(`http://127.0.0.1:${proxyPort}`, 'shop.localhost'), {
      status: 200,
      version: 'v1',
    });
    const s = await client().request<ServiceStatus>('GET', '/api/v1/services/shop');
    assert.equal(s.active?.running, '2/2');
    assert.deepEqual(await swarmServicesOf('shop'), before, 'the same service, adopted; none created');

    server.kill('SIGTERM');
    await waitForExit(server);
    assert.deepEqual(await swarmServicesOf('shop'), before, 'SIGTERM stops the controller only');
    await downServerProcess(null, dir);
    assert.deepEqual(await swarmServicesOf('shop'), [], 'cutover down removes the service');
  });
});

// Swarm reads a service's Env as Go templates ({{.Node.ID}} and the like),
// which cutover uses for its own per-task values. An app's env (and the
// values of its env files: a generated password, a mustache greeting) must
// reach the task as written. On this file's swarm: a daemon of its own cost
// the suite 100 s.
describe('env values with Go template braces on runtime: swarm', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-swarm-env-'));
  });
  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reach the task as written, neither expanded nor refused', async () => {
    const config = parseConfig(
      dockerConfigYaml(daemon, dir, { proxy: 1, admin: 2 }, [swarmService('tmpl', 'instances: 1')]),
      null,
    );
    const runtime = new SwarmRuntime({
      docker: daemon.docker,
      daemonHost: daemon.host,
      owner: 'env-templates',
      serviceFor: (name) => config.services[name],
      logDir: path.join(dir, 'logs'),
      defaultStopGracePeriodMs: 3_000,
    });
    const env = {
      // Would be the service's name if Swarm expanded it.
      EXPANDED: 'hello {{.Service.Name}}',
      // Not a template Go can parse: Swarm would reject the task.
      PASSWORD: 'p{{w}}d {{ {{-',
      TRIM: '{{- "x" -}}',
    };
    const spec: InstanceSpec = {
      service: 'tmpl',
      releaseId: 'r1',
      version: 'v1',
      slot: 'blue',
      index: 0,
      command: '',
      cwd: '',
      env,
      stopGracePeriodMs: 3_000,
    };
    const info = await runtime.start(spec);
    try {
      const inspected = await daemon.docker.getContainer(info.pidToken as string).inspect();
      const seen = Object.fromEntries(
        (inspected.Config.Env ?? [])
          .map((line): [string, string] => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)])
          .filter(([name]) => name in env),
      );
      assert.deepEqual(seen, env);
    } finally {
      await runtime.stop(info.id);
    }
  });
});

swarmRuntimeContract(() => daemon);
