import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { parse as parseYaml } from 'yaml';
import { AdminClient } from '../../../src/cli/admin-client.js';
import { parseConfig } from '../../../src/config/load-config.js';
import type { ServiceStatus } from '../../../src/controller/service-status.js';
import { findFreePort } from '../../../src/runtime/process/free-port.js';
import { startServer, type RunningServer } from '../../../src/server/start-server.js';
import { REPO_ROOT, silentLogger } from '../../support/cutover-harness.js';
import { loadSampleImage } from '../../support/docker-test-image.js';
import { sharedKubeCluster } from '../../support/kube-cluster-shared.js';
import type { KubeCluster } from '../../support/kube-cluster.js';
import { kubeApi, kubeApiOk, type KubeApiTarget } from '../../support/kube/kube-api.js';
import { kubeconfigYaml } from '../../support/kube/kube-certificates.js';
import { createNamespace, deleteNamespace, sampleKubeService } from '../../support/kube/kube-test-service.js';
import { operate, versionAt } from '../../support/operations.js';

// cutover as a service account bound to nothing but the Role docs/kubernetes.md documents (read from the
// page itself, so the page and the test cannot drift apart): from inside a pod, through the in-cluster
// configuration, `cutover doctor` finds every permission granted; and a cutover server holding that
// account's token deploys, switches, reads logs and rolls back. The admin token the other files use
// would hide a verb the Role forgot.
const namespace = `sa-${randomBytes(3).toString('hex')}`;
const ACCOUNT = 'cutover';

let cluster: KubeCluster;
let api: KubeApiTarget;
let dir: string;
let accountToken: string;
let server: RunningServer | undefined;

/** The Role of docs/kubernetes.md's "Permissions" section, moved into this file's namespace. */
function documentedRole(): { metadata: Record<string, unknown>; rules: unknown[] } {
  const page = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'kubernetes.md'), 'utf8');
  const section = page.slice(page.indexOf('## Permissions'));
  const block = /```k8s\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(block, 'docs/kubernetes.md has the Role in its Permissions section');
  const role = parseYaml(block) as { kind: string; metadata: Record<string, unknown>; rules: unknown[] };
  assert.equal(role.kind, 'Role');
  return { ...role, metadata: { ...role.metadata, namespace } };
}

before(async () => {
  cluster = await sharedKubeCluster();
  api = { server: cluster.server, token: cluster.token, caPem: cluster.caPem };
  await loadSampleImage(cluster.docker, [{ tag: 'v1' }, { tag: 'v2' }]);
  await createNamespace(api, namespace);
  const role = documentedRole();
  await kubeApiOk(api, 'POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/roles`, role);
  await kubeApiOk(api, 'POST', `/api/v1/namespaces/${namespace}/serviceaccounts`, {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: ACCOUNT },
  });
  await kubeApiOk(api, 'POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/rolebindings`, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: ACCOUNT },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata.name },
    subjects: [{ kind: 'ServiceAccount', name: ACCOUNT, namespace }],
  });
  // The token controller gives the account a token secret shortly after it is made.
  let secretName: string | undefined;
  for (let i = 0; i < 100 && secretName === undefined; i++) {
    const account = await kubeApiOk(api, 'GET', `/api/v1/namespaces/${namespace}/serviceaccounts/${ACCOUNT}`);
    secretName = (account.json as { secrets?: { name: string }[] }).secrets?.[0]?.name;
    if (secretName === undefined) await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.ok(secretName, 'the service account got its token');
  const secret = await kubeApiOk(api, 'GET', `/api/v1/namespaces/${namespace}/secrets/${secretName}`);
  accountToken = Buffer.from((secret.json as { data: { token: string } }).data.token, 'base64').toString('utf8');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-kube-sa-'));
});

after(async () => {
  await server?.close();
  if (api) await deleteNamespace(api, namespace);
  await cluster?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('cutover with only the documented Role', () => {
  it('in a pod, through the in-cluster configuration, `cutover doctor` finds every permission granted', async () => {
    // No kubeconfig: the pod's service account (its token mounted by Kubernetes) is what cutover uses.
    fs.writeFileSync(
      path.join(dir, 'in-cluster.yaml'),
      `server:
  proxy: 127.0.0.1:${await findFreePort()}
  admin: 127.0.0.1:${await findFreePort()}
  state_dir: /tmp/cutover-state
services:
  web:
    hosts: [web.localhost]
    runtime: kubernetes
    image: cutover-sample:\${VERSION}
    pull: never
    kubernetes: { namespace: ${namespace}, network: host, address: 127.0.0.1 }
`,
    );
    // The repository (and node_modules, wherever it really is) mounted at the same paths, read-only.
    const mounts = [...new Set([REPO_ROOT, fs.realpathSync(path.join(REPO_ROOT, 'node_modules')), dir])];
    const apiserver = new URL(cluster.server);
    const pod = `doctor-${randomBytes(3).toString('hex')}`;
    await kubeApiOk(api, 'POST', `/api/v1/namespaces/${namespace}/pods`, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: pod },
      spec: {
        serviceAccountName: ACCOUNT,
        restartPolicy: 'Never',
        // The API server listens on this node's loopback; the cluster has no kube-proxy for its Service IP.
        hostNetwork: true,
        containers: [
          {
            name: 'cutover',
            image: 'cutover-sample:v1',
            imagePullPolicy: 'Never',
            command: ['/usr/bin/node', path.join(REPO_ROOT, 'bin', 'cutover.js')],
            args: ['--config', path.join(dir, 'in-cluster.yaml'), 'doctor'],
            env: [
              { name: 'KUBERNETES_SERVICE_HOST', value: apiserver.hostname },
              { name: 'KUBERNETES_SERVICE_PORT', value: apiserver.port },
              { name: 'HOME', value: '/tmp' },
              { name: 'NO_COLOR', value: '1' },
            ],
            volumeMounts: mounts.map((mountPath, i) => ({ name: `m${i}`, mountPath, readOnly: true })),
          },
        ],
        volumes: mounts.map((hostPath, i) => ({ name: `m${i}`, hostPath: { path: hostPath, type: 'Directory' } })),
      },
    });
    let phase = '';
    for (let i = 0; i < 300 && phase !== 'Succeeded' && phase !== 'Failed'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const answer = await kubeApiOk(api, 'GET', `/api/v1/namespaces/${namespace}/pods/${pod}`);
      phase = (answer.json as { status?: { phase?: string } }).status?.phase ?? '';
    }
    const log = (await kubeApi(api, 'GET', `/api/v1/namespaces/${namespace}/pods/${pod}/log`)).body;
    assert.ok(phase === 'Succeeded' || phase === 'Failed', `the doctor pod ended (phase ${phase}):\n${log}`);
    assert.match(
      log,
      new RegExp(
        `Kubernetes \\S+ at https://${apiserver.host.replaceAll('.', '\\.')} answers; namespace ${namespace}; ` +
          'every permission cutover needs is granted to the in-cluster service account',
      ),
      log,
    );
  });

  it('a server holding only that account’s token deploys, switches, reads the pods’ logs and rolls back', async () => {
    const kubeconfig = path.join(dir, 'account.kubeconfig');
    fs.writeFileSync(
      kubeconfig,
      kubeconfigYaml(cluster.server, cluster.caPem, `system:serviceaccount:${namespace}:${ACCOUNT}`, accountToken),
      { mode: 0o600 },
    );
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
  kubeconfig,
  network: 'host',
  settings: 'instances: 2\nstrategy: { type: blue-green, auto_switch: true, timeout: 60s }',
})}
`,
    );
    server = await startServer(parseConfig(fs.readFileSync(configFile, 'utf8'), configFile, { env: {} }), {
      logger: silentLogger,
      env: {},
    });
    const client = new AdminClient({ url: server.adminUrl, token: server.token });
    for (const version of ['v1', 'v2']) {
      const done = await operate(client, '/api/v1/services/web/deploy', { version });
      assert.equal(done.operation.outcome, 'succeeded', JSON.stringify(done.operation.error));
      assert.deepEqual(await versionAt(server.proxyUrl, 'web.localhost'), { status: 200, version });
    }
    // What `cutover logs web` prints: the pods' output, read with the Role's pods/log.
    const logs = await request(`${server.adminUrl}/api/v1/services/web/logs`, {
      headers: { authorization: `Bearer ${server.token}` },
    });
    const text = await logs.body.text();
    assert.equal(logs.statusCode, 200, text);
    assert.match(text, /sample-app v2 instance 1 listening on 127\.0\.0\.1:\d+/, text);
    const back = await operate(client, '/api/v1/services/web/rollback');
    assert.equal(back.operation.outcome, 'succeeded', JSON.stringify(back.operation.error));
    assert.deepEqual(await versionAt(server.proxyUrl, 'web.localhost'), { status: 200, version: 'v1' });
    const status = await client.request<ServiceStatus>('GET', '/api/v1/services/web');
    assert.equal(status.active?.version, 'v1');
  });
});
