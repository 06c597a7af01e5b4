import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { kubernetesClient } from '../../../src/runtime/kubernetes/kubernetes-client.js';
import { loadSampleImage } from '../../support/docker-test-image.js';
import { sharedKubeCluster } from '../../support/kube-cluster-shared.js';
import type { KubeCluster } from '../../support/kube-cluster.js';
import { contractConfig, contractRuntimes, contractSpec } from '../../support/kube/kube-contract-runtimes.js';
import { createNamespace, deleteNamespace } from '../../support/kube/kube-test-service.js';
import { httpHealthProbe, runtimeContract } from '../runtime-contract.js';

/**
 * The Runtime contract on a real single-node Kubernetes 1.20 cluster (see
 * kube-cluster.ts): each instance is a Deployment of its own in a namespace
 * of this file, its pod on the host network at 127.0.0.1 on a port cutover
 * picked. A restarted controller is a second runtime with the same owner.
 */
let cluster: KubeCluster | undefined;
let blocker: net.Server | undefined;
let dir: string | undefined;
const namespace = `contract-${randomBytes(3).toString('hex')}`;
runtimeContract({
  name: 'kubernetes',
  async setup() {
    cluster = await sharedKubeCluster();
    const api = { server: cluster.server, token: cluster.token, caPem: cluster.caPem };
    blocker = net.createServer();
    await new Promise<void>((resolve) => blocker?.listen(0, '127.0.0.1', resolve));
    const blockedPort = (blocker.address() as net.AddressInfo).port;
    await loadSampleImage(cluster.docker, [{ tag: 'c1' }, { tag: `v6-port${blockedPort}` }]);
    await createNamespace(api, namespace);
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-kube-contract-'));
    dir = stateDir;
    const config = contractConfig(stateDir, [
      `kubernetes: { namespace: ${namespace}, kubeconfig: ${cluster.kubeconfigPath}, network: host, address: 127.0.0.1 }`,
    ]);
    const client = kubernetesClient({ kubeconfig: cluster.kubeconfigPath, context: null }, {});
    return {
      newRuntime: contractRuntimes('contract', config, client, stateDir),
      goodSpec: (releaseId, index) => contractSpec(releaseId, index),
      // No such image in the node's dockerd, and pull: never: the kubelet says ErrImageNeverPull.
      failingSpec: (releaseId, index) => contractSpec(releaseId, index, 'v404'),
      conflictSpec: (releaseId, index) => contractSpec(releaseId, index, `v6-port${blockedPort}`),
      blockedPort,
      probe: (_runtime, info) => httpHealthProbe(info),
      // The app's process dies behind the runtime's back: its container is killed on the node's dockerd.
      crash: async (_runtime, info) => {
        const containers = await cluster!.docker.docker.listContainers({
          filters: { label: ['io.kubernetes.container.name=app', `io.kubernetes.pod.namespace=${namespace}`] },
        });
        for (const container of containers)
          if (container.Labels['io.kubernetes.pod.name']?.includes(`-${info.releaseId}-`))
            await cluster!.docker.docker.getContainer(container.Id).kill();
      },
      patienceMs: 60_000,
    };
  },
  async teardown() {
    await new Promise((resolve) => blocker?.close(resolve));
    if (cluster) {
      await deleteNamespace({ server: cluster.server, token: cluster.token, caPem: cluster.caPem }, namespace);
      await cluster.stop();
    }
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  },
});
