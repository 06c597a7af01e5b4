import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { findFreePort } from '../../../src/runtime/process/free-port.js';
import { eventually } from '../../support/eventually.js';
import { loadSampleImage } from '../../support/docker-test-image.js';
import { sharedKubeCluster } from '../../support/kube-cluster-shared.js';
import type { KubeCluster } from '../../support/kube-cluster.js';
import { kubeApi, kubeApiOk, type KubeApiTarget } from '../../support/kube/kube-api.js';

// The cluster the Kubernetes runtime's tests run on (kube-cluster.ts): its
// one node is Ready on the kubelet's dockershim; a Deployment of the sample
// app, built offline into the node's dockerd, gets a Running pod that
// answers HTTP on loopback (host networking), passes a readiness probe and
// hands its logs back through the API server; and RBAC is really on.
let cluster: KubeCluster;
let api: KubeApiTarget;
const namespace = `kube-cluster-smoke-${randomBytes(3).toString('hex')}`;

before(async () => {
  cluster = await sharedKubeCluster();
  api = { server: cluster.server, token: cluster.token, caPem: cluster.caPem };
  await loadSampleImage(cluster.docker, [{ tag: 'v1' }]);
  await kubeApiOk(api, 'POST', '/api/v1/namespaces', {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: namespace },
  });
});
after(async () => {
  if (api) await kubeApi(api, 'DELETE', `/api/v1/namespaces/${namespace}`).catch(() => {});
  await cluster?.stop();
});

interface Pod {
  metadata: { name: string };
  spec: { nodeName?: string };
  status: {
    phase?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: { state?: Record<string, { reason?: string; message?: string }> }[];
  };
}

describe('the test Kubernetes cluster', () => {
  it('has one node, Ready, running pods on Docker, reached by its hostname', async () => {
    const nodes = (await kubeApiOk(api, 'GET', '/api/v1/nodes')).json as {
      items: {
        metadata: { name: string };
        status: {
          conditions: { type: string; status: string }[];
          addresses: { type: string; address: string }[];
          nodeInfo: { containerRuntimeVersion: string };
        };
      }[];
    };
    assert.deepEqual(
      nodes.items.map((n) => n.metadata.name),
      [cluster.nodeName],
    );
    const node = nodes.items[0]!;
    assert.equal(node.status.conditions.find((c) => c.type === 'Ready')?.status, 'True');
    assert.match(node.status.nodeInfo.containerRuntimeVersion, /^docker:\/\//);
    // The API server dials the kubelet by this address (--kubelet-preferred-address-types=Hostname).
    assert.ok(node.status.addresses.some((a) => a.type === 'Hostname' && a.address === cluster.nodeName));
  });

  it('runs a Deployment of the sample app that answers on loopback and logs through the API', async () => {
    const port = await findFreePort();
    await kubeApiOk(api, 'POST', `/apis/apps/v1/namespaces/${namespace}/deployments`, sampleDeployment(port));

    let pod: Pod | undefined;
    await eventually(
      async () => {
        const pods = (await kubeApiOk(api, 'GET', `/api/v1/namespaces/${namespace}/pods?labelSelector=app%3Dsample`))
          .json as { items: Pod[] };
        pod = pods.items[0];
        if (pod?.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) return true;
        await new Promise((resolve) => setTimeout(resolve, 250));
        return false;
      },
      'the sample pod is Ready',
      90_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}; the pod last seen: ${JSON.stringify(pod?.status)}`);
    });
    assert.ok(pod);
    assert.equal(pod.status.phase, 'Running');
    assert.equal(pod.spec.nodeName, cluster.nodeName);

    const response = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(response.status, 200);
    assert.equal(((await response.json()) as { version: string }).version, 'v1');

    // Through the API server to the kubelet and dockershim: what `kubectl logs` does.
    const logs = await kubeApiOk(api, 'GET', `/api/v1/namespaces/${namespace}/pods/${pod.metadata.name}/log`);
    assert.match(logs.body, new RegExp(`sample-app v1 instance \\d+ listening on 127\\.0\\.0\\.1:${port}`));
  });

  it('enforces RBAC: a service account with no role may not list pods', async () => {
    const serviceAccount = (await kubeApiOk(api, 'GET', `/api/v1/namespaces/${namespace}/serviceaccounts/default`))
      .json as { secrets?: { name: string }[] };
    let secretName = serviceAccount.secrets?.[0]?.name;
    if (secretName === undefined) {
      await eventually(async () => {
        const again = (await kubeApiOk(api, 'GET', `/api/v1/namespaces/${namespace}/serviceaccounts/default`)).json as {
          secrets?: { name: string }[];
        };
        secretName = again.secrets?.[0]?.name;
        return secretName !== undefined;
      }, 'the namespace’s default service account gets its token');
    }
    const secret = (await kubeApiOk(api, 'GET', `/api/v1/namespaces/${namespace}/secrets/${secretName}`)).json as {
      data: { token: string };
    };
    const asServiceAccount = { ...api, token: Buffer.from(secret.data.token, 'base64').toString('utf8') };
    // Authenticated (not 401), refused by RBAC (403).
    assert.equal((await kubeApi(asServiceAccount, 'GET', `/api/v1/namespaces/${namespace}/pods`)).status, 403);
  });
});

function sampleDeployment(port: number): object {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'sample', namespace },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'sample' } },
      template: {
        metadata: { labels: { app: 'sample' } },
        spec: {
          // No pod network here: the pod shares the node's, and listens on the port it is given.
          hostNetwork: true,
          automountServiceAccountToken: false,
          terminationGracePeriodSeconds: 2,
          containers: [
            {
              name: 'app',
              image: 'cutover-sample:v1',
              // No registry: the image was built into the node's dockerd.
              imagePullPolicy: 'Never',
              env: [{ name: 'PORT', value: String(port) }],
              // The probe's host is loopback: a hostNetwork pod's IP is the node's InternalIP, the VM's own
              // interface address, where the sample app (listening on 127.0.0.1) does not answer.
              readinessProbe: {
                httpGet: { host: '127.0.0.1', path: '/health', port },
                periodSeconds: 1,
              },
            },
          ],
        },
      },
    },
  };
}
