import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SteadyTraffic } from '../../../examples/demo/steady-traffic.js';
import { AdminClient } from '../../../src/cli/admin-client.js';
import { parseConfig } from '../../../src/config/load-config.js';
import type { ServiceStatus } from '../../../src/controller/service-status.js';
import { findFreePort } from '../../../src/runtime/process/free-port.js';
import { startServer, type RunningServer } from '../../../src/server/start-server.js';
import { errorRateTemplateYaml, silentLogger } from '../../support/cutover-harness.js';
import { loadSampleImage } from '../../support/docker-test-image.js';
import { sharedKubeCluster } from '../../support/kube-cluster-shared.js';
import type { KubeCluster } from '../../support/kube-cluster.js';
import type { KubeApiTarget } from '../../support/kube/kube-api.js';
import { kubeApiOk } from '../../support/kube/kube-api.js';
import { createNamespace, deleteNamespace, sampleKubeService } from '../../support/kube/kube-test-service.js';
import { operate, versionAt } from '../../support/operations.js';
import { proxyLogFor } from '../../support/proxy-log.js';

// `network: pod`, as on a normal cluster: each pod has an address of its own and listens on the service's
// container_port, and cutover dials pod IP:port as the pod's status gives it. The test cluster has a pod
// network only inside the run's own network namespace (scripts/in-netns.sh; `npm test` runs the Kubernetes
// files there), so the addresses are real ones on a bridge, not loopback with a port per pod.
const CONTAINER_PORT = 8080;
/** kube/kube-pod-network.ts's POD_SUBNET: 10.89.0.0/24. */
const POD_ADDRESS = /^10\.89\.0\.\d{1,3}$/;
const namespace = `podnet-${randomBytes(3).toString('hex')}`;

let cluster: KubeCluster;
let api: KubeApiTarget;
let server: RunningServer | undefined;
let client: AdminClient;
let dir: string;
let configFile: string;

/** A load test's first errors, with what the proxy logged about each (its upstream's error). */
const failures = (errors: readonly string[]): string =>
  `${errors.slice(0, 3).join(' | ')}\n${proxyLogFor(path.join(dir, 'state'), errors)}`;

before(async () => {
  cluster = await sharedKubeCluster();
  if (!cluster.podNetwork) {
    await cluster.stop();
    throw new Error(
      'the test cluster has no pod network: run this file in a network namespace of its own, ' +
        '`bash scripts/in-netns.sh node --test <file>` (npm test does)',
    );
  }
  api = { server: cluster.server, token: cluster.token, caPem: cluster.caPem };
  await loadSampleImage(cluster.docker, [
    { tag: 'v1' },
    { tag: 'v2' },
    { tag: 'v3-unhealthy' },
    { tag: 'v4-errors20' },
    { tag: 'v5' },
  ]);
  await createNamespace(api, namespace);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-kube-podnet-'));
  configFile = path.join(dir, 'cutover.yaml');
  fs.writeFileSync(
    configFile,
    `server:
  proxy: 127.0.0.1:${await findFreePort()}
  admin: 127.0.0.1:${await findFreePort()}
  state_dir: ${path.join(dir, 'state')}
  proxy_workers: 1
services:
${sampleKubeService({
  name: 'web',
  namespace,
  kubeconfig: cluster.kubeconfigPath,
  network: { containerPort: CONTAINER_PORT },
  settings: 'instances: 2\nstrategy: { type: blue-green, auto_switch: true, timeout: 60s }',
})}
${sampleKubeService({
  name: 'api',
  namespace,
  kubeconfig: cluster.kubeconfigPath,
  network: { containerPort: CONTAINER_PORT },
  // The progress deadline (timeout) must outlast a pod's start on a loaded node; it is also how long the
  // readiness-never-passes case below waits before cutover undoes the rollout.
  settings:
    'instances: 3\nstrategy: { type: rolling, parallelism: 1, order: start-first, monitor: 2s, failure_action: rollback, timeout: 15s, analysis: [errors] }',
})}
analysis:
${errorRateTemplateYaml()}`,
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

describe('network: pod on the test cluster’s pod network', () => {
  const status = (): Promise<ServiceStatus> => client.request<ServiceStatus>('GET', '/api/v1/services/web');

  it('dials each pod at its own IP and the container port, and a blue-green deploy at 200 req/s fails nothing', async (t) => {
    const first = await operate(client, '/api/v1/services/web/deploy', { version: 'v1' });
    assert.equal(first.operation.outcome, 'succeeded', JSON.stringify(first.operation.error));
    const v1 = (await status()).active?.instances ?? [];
    assert.equal(v1.length, 2);
    for (const i of v1) {
      assert.match(i.host, POD_ADDRESS, `${i.id} is dialled at its pod's address`);
      assert.equal(i.port, CONTAINER_PORT);
    }
    assert.equal(new Set(v1.map((i) => i.host)).size, 2, 'each pod has an address of its own');
    assert.deepEqual(await versionAt(server!.proxyUrl, 'web.localhost'), { status: 200, version: 'v1' });

    const traffic = new SteadyTraffic({
      url: server!.proxyUrl,
      host: 'web.localhost',
      ratePerSecond: 200,
      connections: 8,
      maxDurationMs: 90_000,
    }).start();
    try {
      await traffic.waitForAnswers(100);
      const second = await operate(client, '/api/v1/services/web/deploy', { version: 'v2' });
      assert.equal(second.operation.outcome, 'succeeded', JSON.stringify(second.operation.error));
      await traffic.waitForAnswers(100);
    } finally {
      await traffic.stop();
    }
    const summary = traffic.summary;
    t.diagnostic(
      `blue-green on pod IPs: ${summary.sent} sent, ${summary.failed} failed, ${JSON.stringify(summary.byVersion)}`,
    );
    assert.equal(summary.failed, 0, failures(summary.firstErrors));
    assert.ok((summary.byVersion.v2 ?? 0) > 50, JSON.stringify(summary.byVersion));
    const v2 = (await status()).active?.instances ?? [];
    assert.equal((await status()).active?.version, 'v2');
    for (const i of v2) assert.match(i.host, POD_ADDRESS);
    assert.equal(
      v2.filter((i) => v1.some((old) => old.host === i.host)).length,
      0,
      'the new pods have addresses of their own, not the old ones’',
    );
  });
});

// strategy: rolling with the pod network: the release's instances are the replicas of one Deployment, and
// Kubernetes' own RollingUpdate replaces them (maxSurge/maxUnavailable from parallelism and order,
// minReadySeconds from monitor, progressDeadlineSeconds from timeout); cutover routes to each Ready pod of
// both ReplicaSets meanwhile, and undoes a rollout that stalls, as `kubectl rollout undo` does.
describe('native RollingUpdate of a release set on the pod network', () => {
  const status = (): Promise<ServiceStatus> => client.request<ServiceStatus>('GET', '/api/v1/services/api');
  interface Deployment {
    metadata: { uid: string; name: string };
    spec: {
      replicas: number;
      minReadySeconds?: number;
      progressDeadlineSeconds?: number;
      strategy: { rollingUpdate?: { maxSurge: number; maxUnavailable: number } };
      template: { spec: { containers: { image: string }[] } };
    };
  }
  const deploymentsOfApi = async (): Promise<Deployment[]> =>
    (
      (
        await kubeApiOk(
          api,
          'GET',
          `/apis/apps/v1/namespaces/${namespace}/deployments?labelSelector=${encodeURIComponent('cutover.service=api')}`,
        )
      ).json as { items: Deployment[] }
    ).items;
  const steady = (): SteadyTraffic =>
    new SteadyTraffic({
      url: server!.proxyUrl,
      host: 'api.localhost',
      ratePerSecond: 200,
      connections: 8,
      maxDurationMs: 120_000,
    }).start();

  it('updates 3 replicas through the one Deployment at 200 req/s with 0 failed, and cutover follows the pods', async (t) => {
    const first = await operate(client, '/api/v1/services/api/deploy', { version: 'v1' });
    assert.equal(first.operation.outcome, 'succeeded', JSON.stringify(first.operation.error));
    const [set, ...others] = await deploymentsOfApi();
    assert.equal(others.length, 0, 'one Deployment holds the release');
    assert.equal(set!.spec.replicas, 3);
    const v1 = (await status()).active?.instances ?? [];
    assert.equal(v1.length, 3);
    assert.equal(new Set(v1.map((i) => i.host)).size, 3, 'each instance is a pod of its own');
    for (const i of v1) assert.match(i.host, POD_ADDRESS);

    const traffic = steady();
    let events;
    try {
      await traffic.waitForAnswers(100);
      const done = await operate(client, '/api/v1/services/api/deploy', { version: 'v2' });
      events = done.events;
      assert.equal(done.operation.outcome, 'succeeded', JSON.stringify(done.operation.error));
      await traffic.waitForAnswers(100);
    } finally {
      await traffic.stop();
    }
    const summary = traffic.summary;
    t.diagnostic(
      `native rolling: ${summary.sent} sent, ${summary.failed} failed, ${JSON.stringify(summary.byVersion)}`,
    );
    assert.equal(summary.failed, 0, failures(summary.firstErrors));
    assert.ok((summary.byVersion.v2 ?? 0) > 50, JSON.stringify(summary.byVersion));

    const types = events.map((e) => e.type);
    assert.ok(types.includes('kubernetes.update-started'), types.join(' '));
    assert.ok(types.includes('kubernetes.update-completed'), types.join(' '));
    assert.ok(!types.some((type) => type.startsWith('rolling.batch')), "cutover's own runner replaced nothing");
    const started = events.find((e) => e.type === 'kubernetes.update-started')!;
    assert.deepEqual((started.data as { updateConfig: unknown }).updateConfig, {
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      minReadySeconds: 2,
      progressDeadlineSeconds: 15,
    });
    // Both generations served while Kubernetes replaced the pods: the route followed them.
    const shares = events.filter((e) => e.type === 'kubernetes.pods').map((e) => (e.data as { weight: number }).weight);
    assert.ok(
      shares.some((w) => w > 0 && w < 100),
      `a mixed moment: ${shares.join(',')}`,
    );

    const [after, ...more] = await deploymentsOfApi();
    assert.equal(more.length, 0);
    assert.equal(after!.metadata.uid, set!.metadata.uid, 'the same Deployment, updated in place');
    assert.equal(after!.spec.template.spec.containers[0]!.image, 'cutover-sample:v2');
    const s = await status();
    assert.equal(s.active?.version, 'v2');
    assert.equal(s.active?.running, '3/3');
    const v2 = s.active?.instances ?? [];
    for (const i of v2) assert.match(i.host, POD_ADDRESS);
    assert.equal(v2.filter((i) => v1.some((old) => old.host === i.host)).length, 0, 'every pod was replaced');
    assert.equal(s.standby, null, 'a rolling update keeps no second release');
  });

  it('a release whose readiness never passes gets no traffic: the rollout is undone and the deploy says why', async (t) => {
    const before = (await status()).active;
    assert.equal(before?.version, 'v2');
    const traffic = steady();
    let done;
    try {
      await traffic.waitForAnswers(100);
      done = await operate(client, '/api/v1/services/api/deploy', { version: 'v3-unhealthy' });
      await traffic.waitForAnswers(100);
    } finally {
      await traffic.stop();
    }
    const summary = traffic.summary;
    t.diagnostic(
      `stalled rollout: ${summary.sent} sent, ${summary.failed} failed, ${JSON.stringify(summary.byVersion)}`,
    );
    assert.equal(summary.failed, 0, failures(summary.firstErrors));
    assert.equal(summary.byVersion['v3-unhealthy'] ?? 0, 0, 'no request reached the release that never got Ready');

    assert.equal(done.operation.outcome, 'failed');
    assert.equal(done.operation.error?.code, 'KUBERNETES_ROLLED_BACK');
    assert.match(done.operation.error?.message ?? '', /Readiness probe failed: HTTP probe failed with statuscode: 500/);
    assert.match(done.operation.error?.message ?? '', /v2 \(api-\d+\) serves api/);
    const types = done.events.map((e) => e.type);
    assert.ok(types.includes('kubernetes.update-paused'), types.join(' '));
    assert.ok(types.includes('kubernetes.update-rollback-completed'), types.join(' '));

    const [set] = await deploymentsOfApi();
    assert.equal(set!.spec.template.spec.containers[0]!.image, 'cutover-sample:v2', 'the template is v2 again');
    const s = await status();
    assert.equal(s.active?.version, 'v2');
    assert.equal(s.active?.running, '3/3');
    assert.deepEqual(await versionAt(server!.proxyUrl, 'api.localhost'), { status: 200, version: 'v2' });
  });

  it('the controller stopped mid-update and started again: v2 is adopted, the Deployment runs v2 again, the next deploy works', async (t) => {
    const stable = await status();
    assert.equal(stable.active?.version, 'v2');
    const [set] = await deploymentsOfApi();
    const traffic = steady();
    try {
      await traffic.waitForAnswers(100);
      const { operation } = await client.request<{ operation: { id: string } }>('POST', '/api/v1/services/api/deploy', {
        actor: 'test',
        version: 'v5',
      });
      // Cut once Kubernetes runs a pod of v5: the Deployment is half on each release.
      const v5Pods = async (): Promise<number> =>
        (
          (await kubeApiOk(api, 'GET', `/api/v1/namespaces/${namespace}/pods?labelSelector=cutover.service%3Dapi`))
            .json as { items: { metadata: { annotations?: Record<string, string> }; status: { phase?: string } }[] }
        ).items.filter((p) => p.metadata.annotations?.['cutover.version'] === 'v5' && p.status.phase === 'Running')
          .length;
      for (let i = 0; i < 300 && (await v5Pods()) === 0; i++) await new Promise((r) => setTimeout(r, 100));
      assert.ok((await v5Pods()) > 0, 'the update had begun');
      await server!.detach();
      server = undefined;
      const config = parseConfig(fs.readFileSync(configFile, 'utf8'), configFile, { env: {} });
      server = await startServer(config, { logger: silentLogger, env: {} });
      client = new AdminClient({ url: server.adminUrl, token: server.token });
      const cut = await client.request<{ operation: { outcome: string | null } }>(
        'GET',
        `/api/v1/operations/${operation.id}`,
      );
      assert.equal(cut.operation.outcome, 'aborted', 'recovery closed the cut deploy');
      const after = await status();
      assert.equal(after.active?.releaseId, stable.active?.releaseId);
      const [again, ...more] = await deploymentsOfApi();
      assert.equal(more.length, 0);
      assert.equal(again!.metadata.uid, set!.metadata.uid, 'the same Deployment, adopted');
      assert.equal(again!.spec.template.spec.containers[0]!.image, 'cutover-sample:v2', 'its template is v2 again');
      // The pods of v5 go; v2's instances are its pods (the supervisor fills a place a v5 pod had taken).
      for (let i = 0; i < 300 && (await status()).active?.running !== '3/3'; i++)
        await new Promise((r) => setTimeout(r, 100));
      assert.equal((await status()).active?.running, '3/3');
      await traffic.waitForAnswers(100);
    } finally {
      await traffic.stop();
    }
    const summary = traffic.summary;
    t.diagnostic(`cut update: ${summary.sent} sent, ${summary.failed} failed, ${JSON.stringify(summary.byVersion)}`);
    assert.equal(summary.failed, 0, failures(summary.firstErrors));
    assert.equal(summary.connectionErrors, 0);
    assert.deepEqual(await versionAt(server.proxyUrl, 'api.localhost'), { status: 200, version: 'v2' });

    const next = await operate(client, '/api/v1/services/api/deploy', { version: 'v5' });
    assert.equal(next.operation.outcome, 'succeeded', JSON.stringify(next.operation.error));
    assert.ok(next.events.some((e) => e.type === 'kubernetes.update-completed'));
    assert.equal((await status()).active?.running, '3/3');
    assert.deepEqual(await versionAt(server.proxyUrl, 'api.localhost'), { status: 200, version: 'v5' });
  });

  it("a release that fails the analysis in a pod's monitor window is rolled back, and only its pods failed requests", async (t) => {
    const stable = (await status()).active?.version;
    assert.equal(stable, 'v5');
    const traffic = steady();
    let done;
    try {
      await traffic.waitForAnswers(100);
      done = await operate(client, '/api/v1/services/api/deploy', { version: 'v4-errors20' });
      await traffic.waitForAnswers(100);
    } finally {
      await traffic.stop();
    }
    const summary = traffic.summary;
    t.diagnostic(
      `analysis: ${summary.sent} sent, ${summary.failed} failed ${JSON.stringify(summary.failedByVersion)}, ${JSON.stringify(summary.byVersion)}`,
    );
    assert.equal(done.operation.outcome, 'failed');
    assert.equal(done.operation.error?.code, 'KUBERNETES_ROLLED_BACK');
    assert.match(done.operation.error?.message ?? '', /the analysis failed in the monitor window/);
    const types = done.events.map((e) => e.type);
    assert.ok(types.includes('rolling.analysis-failed'), types.join(' '));
    assert.ok(types.includes('kubernetes.update-rollback-completed'), types.join(' '));
    assert.ok((summary.byVersion['v4-errors20'] ?? 0) > 0, 'the new pod served: the analysis had counts to judge');
    assert.deepEqual(Object.keys(summary.failedByVersion), ['v4-errors20'], 'every failure is the bad release’s 500');
    assert.equal(summary.connectionErrors, 0);

    const [set] = await deploymentsOfApi();
    assert.equal(set!.spec.template.spec.containers[0]!.image, 'cutover-sample:v5');
    const s = await status();
    assert.equal(s.active?.version, 'v5');
    assert.equal(s.active?.running, '3/3');
  });
});
