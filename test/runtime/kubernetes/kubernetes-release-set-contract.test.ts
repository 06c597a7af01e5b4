import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { kubernetesClient } from '../../../src/runtime/kubernetes/kubernetes-client.js';
import { loadSampleImage } from '../../support/docker-test-image.js';
import { sharedKubeCluster } from '../../support/kube-cluster-shared.js';
import type { KubeCluster } from '../../support/kube-cluster.js';
import { kubeApiOk } from '../../support/kube/kube-api.js';
import { contractConfig, contractRuntimes, contractSpec } from '../../support/kube/kube-contract-runtimes.js';
import { createNamespace, deleteNamespace } from '../../support/kube/kube-test-service.js';
import { httpHealthProbe, runtimeContract } from '../runtime-contract.js';

/**
 * The Runtime contract for release sets (`network: pod` with `strategy:
 * rolling`): a release's instances are the replicas of one Deployment, bound
 * to its pods as they start, so Kubernetes' RollingUpdate can replace them.
 * Starting, stopping one instance (its pod taken out of the ReplicaSet and
 * the Deployment scaled down), a crash, adoption after a restart and close
 * keep the same promises as an instance's own Deployment. Pods are on the
 * test cluster's pod network: run inside the run's network namespace.
 */
let cluster: KubeCluster | undefined;
let dir: string | undefined;
const namespace = `set-contract-${randomBytes(3).toString('hex')}`;
runtimeContract({
  name: 'kubernetes release sets',
  async setup() {
    cluster = await sharedKubeCluster();
    if (!cluster.podNetwork)
      throw new Error('the test cluster has no pod network: run this file with `bash scripts/in-netns.sh`');
    const api = { server: cluster.server, token: cluster.token, caPem: cluster.caPem };
    await loadSampleImage(cluster.docker, [{ tag: 'c1' }]);
    await createNamespace(api, namespace);
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-kube-set-contract-'));
    dir = stateDir;
    const config = contractConfig(stateDir, [
      'strategy: { type: rolling }',
      `kubernetes: { namespace: ${namespace}, kubeconfig: ${cluster.kubeconfigPath}, network: pod, container_port: 8080 }`,
    ]);
    const client = kubernetesClient({ kubeconfig: cluster.kubeconfigPath, context: null }, {});
    return {
      newRuntime: contractRuntimes('set-contract', config, client, stateDir),
      goodSpec: (releaseId, index) => contractSpec(releaseId, index),
      // No such image in the node's dockerd, and pull: never: the kubelet says ErrImageNeverPull.
      failingSpec: (releaseId, index) => contractSpec(releaseId, index, 'v404'),
      conflictSpec: (releaseId, index) => contractSpec(releaseId, index),
      blockedPort: 0,
      probe: (_runtime, info) => httpHealthProbe(info),
      // The app's process dies behind the runtime's back: the container of the pod at the instance's address.
      crash: async (_runtime, info) => {
        const pods = (
          (await kubeApiOk(api, 'GET', `/api/v1/namespaces/${namespace}/pods`)).json as {
            items: { metadata: { name: string }; status: { podIP?: string } }[];
          }
        ).items;
        const pod = pods.find((p) => p.status.podIP === info.host);
        if (!pod) throw new Error(`no pod at ${info.host}`);
        const containers = await cluster!.docker.docker.listContainers({
          filters: { label: ['io.kubernetes.container.name=app', `io.kubernetes.pod.name=${pod.metadata.name}`] },
        });
        for (const container of containers) await cluster!.docker.docker.getContainer(container.Id).kill();
      },
      patienceMs: 60_000,
    };
  },
  async teardown() {
    if (cluster) {
      await deleteNamespace({ server: cluster.server, token: cluster.token, caPem: cluster.caPem }, namespace);
      await cluster.stop();
    }
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  },
  skip: {
    'port-conflict':
      'every pod of a set listens on the container port at an address of its own: no two instances share a port',
  },
});
