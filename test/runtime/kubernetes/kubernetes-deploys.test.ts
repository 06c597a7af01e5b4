import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { SteadyTraffic, type TrafficSummary } from '../../../examples/demo/steady-traffic.js';
import { AdminClient } from '../../../src/cli/admin-client.js';
import { parseConfig } from '../../../src/config/load-config.js';
import type { ServiceStatus } from '../../../src/controller/service-status.js';
import { runDoctor } from '../../../src/doctor/doctor-checks.js';
import { findFreePort } from '../../../src/runtime/process/free-port.js';
import { startServer, type RunningServer } from '../../../src/server/start-server.js';
import { silentLogger } from '../../support/cutover-harness.js';
import { loadSampleImage } from '../../support/docker-test-image.js';
import { sharedKubeCluster } from '../../support/kube-cluster-shared.js';
import type { KubeCluster } from '../../support/kube-cluster.js';
import type { KubeApiTarget } from '../../support/kube/kube-api.js';
import { cutoverDeployments, type CutoverDeployment } from '../../support/kube/kube-deployments.js';
import { createNamespace, deleteNamespace, sampleKubeService } from '../../support/kube/kube-test-service.js';
import { operate, versionAt } from '../../support/operations.js';
import { proxyLogFor } from '../../support/proxy-log.js';

// runtime: kubernetes on the real single-node test cluster, through a cutover
// server: blue-green, canary and rolling of the sample app under steady load
// with no failed request, and a release whose readiness never passes, which gets no
// traffic and fails with the pod's reason. Each instance is a Deployment.
let cluster: KubeCluster;
let api: KubeApiTarget;
let server: RunningServer | undefined;
let client: AdminClient;
let dir: string;
let configFile: string;
const namespace = `deploys-${randomBytes(3).toString('hex')}`;

const kubeService = (name: string, settings: string): string =>
  sampleKubeService({ name, namespace, kubeconfig: cluster.kubeconfigPath, network: 'host', settings });

/** The service's Deployments (release, slot, instance), without their uids. */
async function deploymentsOf(service: string): Promise<Omit<CutoverDeployment, 'uid'>[]> {
  return (await cutoverDeployments(api, namespace, service)).map(({ release, slot, instance }) => ({
    release,
    slot,
    instance,
  }));
}

/**
 * 200 req/s at a service's host while `work` runs (after the first 100 answers, and until 100 more came after
 * it): the traffic's summary, taken whatever `work` did.
 */
async function underLoad<T>(
  service: string,
  work: (traffic: SteadyTraffic) => Promise<T>,
  maxDurationMs = 90_000,
): Promise<{ result: T; summary: TrafficSummary }> {
  const traffic = new SteadyTraffic({
    url: server!.proxyUrl,
    host: `${service}.localhost`,
    ratePerSecond: 200,
    connections: 8,
    maxDurationMs,
  }).start();
  let result: T;
  try {
    await traffic.waitForAnswers(100);
    result = await work(traffic);
    await traffic.waitForAnswers(100);
  } finally {
    await traffic.stop();
  }
  return { result, summary: traffic.summary };
}

before(async () => {
  cluster = await sharedKubeCluster();
  api = { server: cluster.server, token: cluster.token, caPem: cluster.caPem };
  await loadSampleImage(cluster.docker, [
    { tag: 'v1' },
    { tag: 'v2' },
    { tag: 'v3-unhealthy' },
    { tag: 'v2-errors20' },
  ]);
  await createNamespace(api, namespace);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-kube-deploys-'));
  configFile = path.join(dir, 'cutover.yaml');
  fs.writeFileSync(
    configFile,
    `server:
  proxy: 127.0.0.1:${await findFreePort()}
  admin: 127.0.0.1:${await findFreePort()}
  state_dir: ${path.join(dir, 'state')}
  proxy_workers: 1
services:
${kubeService('web', 'instances: 2\nstrategy: { type: blue-green, auto_switch: false, timeout: 60s, scale_down_delay: 10m }')}
${kubeService(
  'shop',
  `instances: 2
strategy:
  type: canary
  steps:
    - { weight: 25, pause: 2s }
    - { weight: 50, pause: 2s }
    - { weight: 100 }
  canary_instances: 1
  timeout: 60s`,
)}
${kubeService(
  'cart',
  `instances: 1
strategy:
  type: canary
  steps: [ { weight: 50, pause: 20s }, { weight: 100 } ]
  canary_instances: 1
  analysis: [errors]
  timeout: 60s`,
)}
${kubeService(
  'api',
  'instances: 3\nstrategy: { type: rolling, parallelism: 1, order: start-first, monitor: 1s, failure_action: rollback, timeout: 60s }',
)}
analysis:
  errors:
    metrics:
      - name: error-rate
        provider: { builtin: error-rate }
        interval: 500ms
        failure_condition: result > 0.05
        consecutive_error_limit: 30
`,
  );
  const config = parseConfig(fs.readFileSync(configFile, 'utf8'), configFile, { env: {} });
  server = await startServer(config, { logger: silentLogger, env: {} });
  client = new AdminClient({ url: server.adminUrl, token: server.token });
});
after(async () => {
  await server?.close();
  if (api) await deleteNamespace(api, namespace);
  await cluster?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('blue-green, canary and rolling deploys on Kubernetes', () => {
  const status = (name: string): Promise<ServiceStatus> =>
    client.request<ServiceStatus>('GET', `/api/v1/services/${name}`);

  before(async () => {
    const first = await Promise.all(
      ['web', 'shop', 'cart', 'api'].map((service) =>
        operate(client, `/api/v1/services/${service}/deploy`, { version: 'v1', autoSwitch: true }),
      ),
    );
    for (const done of first) assert.equal(done.operation.outcome, 'succeeded', JSON.stringify(done.operation.error));
  });

  it('cutover doctor reaches the API server, finds the namespace and every permission granted', async () => {
    const results = await runDoctor({ configFile, env: {} });
    const kube = results.find((r) => r.id === `runtime.kubernetes.${namespace}`);
    assert.equal(kube?.status, 'ok', kube?.message);
    assert.match(kube?.message ?? '', /Kubernetes v\S+ at https:\/\/127\.0\.0\.1:\d+ answers/);
  });

  it('blue-green: v2 as Deployments of its own beside v1, switch and roll back under 200 req/s with 0 failed', async () => {
    assert.deepEqual(
      (await deploymentsOf('web')).map((d) => [d.release, d.slot, d.instance]),
      [
        ['web-1', 'blue', '0'],
        ['web-1', 'blue', '1'],
      ],
    );
    const traffic = new SteadyTraffic({
      url: server!.proxyUrl,
      host: 'web.localhost',
      ratePerSecond: 200,
      connections: 8,
      maxDurationMs: 90_000,
    }).start();
    const steps: string[] = [];
    const step = (name: string): void => {
      steps.push(`${name}: ${traffic.summary.failed}`);
    };
    try {
      await traffic.waitForAnswers(100);
      const ready = await operate(client, '/api/v1/services/web/deploy', { version: 'v2' });
      assert.equal(ready.operation.phase, 'ready', JSON.stringify(ready.operation.error));
      step('v2 ready');
      assert.deepEqual(
        (await deploymentsOf('web')).map((d) => [d.release, d.slot]),
        [
          ['web-1', 'blue'],
          ['web-1', 'blue'],
          ['web-2', 'green'],
          ['web-2', 'green'],
        ],
        'green runs beside blue',
      );
      assert.equal((await versionAt(server!.proxyUrl, 'web.localhost')).version, 'v1', 'no traffic before the switch');
      const promoted = await operate(client, '/api/v1/services/web/promote');
      assert.equal(promoted.operation.outcome, 'succeeded');
      await traffic.waitForAnswers(100);
      step('switched to v2');
      assert.equal((await versionAt(server!.proxyUrl, 'web.localhost')).version, 'v2');
      const rollback = await operate(client, '/api/v1/services/web/rollback');
      assert.equal(rollback.operation.outcome, 'succeeded', JSON.stringify(rollback.operation.error));
      await traffic.waitForAnswers(100);
      step('rolled back');
      assert.equal((await versionAt(server!.proxyUrl, 'web.localhost')).version, 'v1');
    } catch (error) {
      steps.push(`failed at: ${(error as Error).message.split('\n')[0]}`);
      await traffic.stop();
      throw error;
    }
    const summary = await traffic.stop();
    assert.equal(
      summary.failed,
      0,
      `failed requests (${steps.join(', ')}): ${summary.firstErrors.slice(0, 2).join(' | ')}\n${proxyLogFor(path.join(dir, 'state'), summary.firstErrors)}`,
    );
    assert.equal(summary.connectionErrors, 0);
    assert.ok(
      (summary.byVersion.v1 ?? 0) > 100 && (summary.byVersion.v2 ?? 0) > 50,
      `both versions answered: ${JSON.stringify(summary.byVersion)}`,
    );
    const s = await status('web');
    assert.equal(s.active?.version, 'v1');
    assert.equal(s.active?.running, '2/2');
    assert.equal(new Set(s.active?.instances.map((i) => i.port)).size, 2, 'each pod on its own port');
    assert.deepEqual(
      s.active?.instances.map((i) => i.node),
      [cluster.nodeName, cluster.nodeName],
      'status names the node of each pod',
    );
  });

  it('canary: v2 takes 25%, 50%, then all of the traffic under 200 req/s with 0 failed', async () => {
    const { summary } = await underLoad('shop', async () => {
      const done = await operate(client, '/api/v1/services/shop/deploy', { version: 'v2' });
      assert.equal(done.operation.outcome, 'succeeded', JSON.stringify(done.operation.error));
    });
    assert.equal((await versionAt(server!.proxyUrl, 'shop.localhost')).version, 'v2');
    assert.equal(
      summary.failed,
      0,
      `failed requests: ${summary.firstErrors.slice(0, 2).join(' | ')}\n${proxyLogFor(path.join(dir, 'state'), summary.firstErrors)}`,
    );
    assert.equal(summary.connectionErrors, 0);
    assert.ok((summary.byVersion.v1 ?? 0) > 50 && (summary.byVersion.v2 ?? 0) > 50, JSON.stringify(summary.byVersion));
    const s = await status('shop');
    assert.equal(s.active?.version, 'v2');
    assert.equal(s.active?.running, '2/2');

    // What `cutover logs shop` prints: the pods' output, copied from the API into the instance log files.
    const logs = await request(`${server!.adminUrl}/api/v1/services/shop/logs`, {
      headers: { authorization: `Bearer ${server!.token}` },
    });
    assert.equal(logs.statusCode, 200);
    const text = await logs.body.text();
    for (const index of [0, 1])
      assert.match(
        text,
        new RegExp(
          `\\[${s.active?.slot ?? ''}-${index}\\] sample-app v2 instance ${index} listening on 127\\.0\\.0\\.1:\\d+`,
        ),
        text,
      );
  });

  it("rolling: cutover's own runner replaces 3 pods one at a time, start-first, under 200 req/s with 0 failed", async () => {
    const { summary } = await underLoad(
      'api',
      async () => {
        const done = await operate(client, '/api/v1/services/api/deploy', { version: 'v2' });
        assert.equal(done.operation.outcome, 'succeeded', JSON.stringify(done.operation.error));
      },
      120_000,
    );
    assert.equal(
      summary.failed,
      0,
      `failed requests: ${summary.firstErrors.slice(0, 2).join(' | ')}\n${proxyLogFor(path.join(dir, 'state'), summary.firstErrors)}`,
    );
    assert.equal(summary.connectionErrors, 0);
    assert.ok((summary.byVersion.v1 ?? 0) > 50 && (summary.byVersion.v2 ?? 0) > 50, JSON.stringify(summary.byVersion));
    assert.deepEqual(
      (await deploymentsOf('api')).map((d) => [d.release, d.instance]),
      [
        ['api-2', '0'],
        ['api-2', '1'],
        ['api-2', '2'],
      ],
      'the old Deployments are gone',
    );
  });

  it('a release whose readiness never passes gets no traffic, and the deploy fails with the pod’s reason', async (t) => {
    const done = await operate(client, '/api/v1/services/web/deploy', { version: 'v3-unhealthy' });
    assert.equal(done.operation.outcome, 'failed', JSON.stringify(done.operation));
    const message = JSON.stringify(done.operation.error);
    t.diagnostic(`cutover said: ${message}`);
    assert.match(message, /Readiness probe failed: HTTP probe failed with statuscode: 500/, 'the kubelet’s reason');
    assert.deepEqual(await versionAt(server!.proxyUrl, 'web.localhost'), { status: 200, version: 'v1' });
    assert.equal((await status('web')).active?.version, 'v1');
  });
  it("a canary failing 20% of its requests is aborted by the builtin analysis on the router's counts", async () => {
    const { result: done, summary } = await underLoad('cart', () =>
      operate(client, '/api/v1/services/cart/deploy', { version: 'v2-errors20' }),
    );
    assert.equal(done.operation.outcome, 'failed', JSON.stringify(done.operation));
    assert.equal(done.operation.error?.code, 'ANALYSIS_FAILED');
    assert.match(done.operation.error?.message ?? '', /error-rate/);
    assert.ok(
      (summary.byVersion['v2-errors20'] ?? 0) > 0,
      `the canary was measured: ${JSON.stringify(summary.byVersion)}`,
    );
    assert.deepEqual(await versionAt(server!.proxyUrl, 'cart.localhost'), { status: 200, version: 'v1' });
    const s = await status('cart');
    assert.equal(s.active?.version, 'v1');
    assert.equal(s.canary, null);
    // The canary's Deployment goes with it; the stable one stays.
    for (let i = 0; i < 100 && (await deploymentsOf('cart')).length > 1; i++)
      await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(
      (await deploymentsOf('cart')).map((d) => d.release),
      ['cart-1'],
    );
  });

  it('the controller stops mid-deploy and starts again: the pods are found again by label, traffic never stops', async () => {
    const uids = async (): Promise<string[]> =>
      (await cutoverDeployments(api, namespace, 'web')).map((d) => d.uid).sort();
    const { summary } = await underLoad('web', async (traffic) => {
      const stable = await status('web');
      const before = await uids();
      const { operation } = await client.request<{ operation: { releaseId: string } }>(
        'POST',
        '/api/v1/services/web/deploy',
        { actor: 'test', version: 'v2' },
      );
      // Stop the controller once the new release's Deployments exist: the deploy is cut in the middle.
      for (let i = 0; i < 200; i++) {
        if ((await deploymentsOf('web')).some((d) => d.release === operation.releaseId)) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.ok(
        (await deploymentsOf('web')).some((d) => d.release === operation.releaseId),
        'the deploy had begun',
      );
      await server!.detach();
      server = undefined;
      const config = parseConfig(fs.readFileSync(configFile, 'utf8'), configFile, { env: {} });
      server = await startServer(config, { logger: silentLogger, env: {} });
      client = new AdminClient({ url: server.adminUrl, token: server.token });
      const after = await status('web');
      assert.equal(after.active?.releaseId, stable.active?.releaseId);
      assert.equal(after.active?.running, '2/2');
      assert.deepEqual(
        after.active?.instances.map((i) => i.port).sort(),
        stable.active?.instances.map((i) => i.port).sort(),
        'the same pods, adopted',
      );
      const kept = await uids();
      for (const uid of before) assert.ok(kept.includes(uid), 'the stable release kept its Deployments');
      await traffic.waitForAnswers(100);
      assert.deepEqual(await versionAt(server.proxyUrl, 'web.localhost'), { status: 200, version: 'v1' });
    });
    assert.equal(
      summary.failed,
      0,
      `failed requests: ${summary.firstErrors.slice(0, 2).join(' | ')}\n${proxyLogFor(path.join(dir, 'state'), summary.firstErrors)}`,
    );
    assert.equal(summary.connectionErrors, 0);
  });
});
