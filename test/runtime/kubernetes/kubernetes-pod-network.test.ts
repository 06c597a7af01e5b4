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
import { silentLogger } from '../../support/cutover-harness.js';
import { loadSampleImage } from '../../support/docker-test-image.js';
import { sharedKubeCluster } from '../../support/kube-cluster-shared.js';
import type { KubeCluster } from '../../support/kube-cluster.js';
import type { KubeApiTarget } from '../../support/kube/kube-api.js';
import { createNamespace, deleteNamespace, sampleKubeService } from '../../support/kube/kube-test-service.js';
import { operate, versionAt } from '../../support/operations.js';

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
  await loadSampleImage(cluster.docker, [{ tag: 'v1' }, { tag: 'v2' }]);
  await createNamespace(api, namespace);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-kube-podnet-'));
  const configFile = path.join(dir, 'cutover.yaml');
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
    assert.equal(summary.failed, 0, summary.firstErrors.slice(0, 3).join(' | '));
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
