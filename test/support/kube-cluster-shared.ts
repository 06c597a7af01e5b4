import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import type { DockerDaemon } from './docker-daemon.js';
import { startKubeCluster, type KubeCluster } from './kube-cluster.js';

const run = promisify(execFile);

/**
 * One test cluster per test run: scripts/run-tests.mjs starts it once
 * (kube-cluster-main.ts) after every other test file has run, and passes
 * it to the files under test/runtime/kubernetes/ by environment:
 *   CUTOVER_TEST_KUBE_CLUSTER  a JSON file of KubeClusterInfo (mode 0600)
 *   CUTOVER_TEST_KUBECONFIG    its admin kubeconfig, for client libraries
 * A file run on its own (node --test dist/test/runtime/kubernetes/x.test.js)
 * finds no such variable and starts a cluster of its own, stopped by
 * `stop()`; the shared one's `stop()` leaves it running for the next file.
 * Files share the cluster, so each works in namespaces of its own.
 */
export const KUBE_CLUSTER_ENV = 'CUTOVER_TEST_KUBE_CLUSTER';
export const KUBECONFIG_ENV = 'CUTOVER_TEST_KUBECONFIG';

export interface KubeClusterInfo {
  dir: string;
  kubeconfigPath: string;
  server: string;
  token: string;
  caFile: string;
  nodeName: string;
  podNetwork: boolean;
  /** unix://<socket> of the node's dockerd. */
  dockerHost: string;
  dockerSocket: string;
  dockerDir: string;
}

export function kubeClusterInfo(cluster: KubeCluster): KubeClusterInfo {
  return {
    dir: cluster.dir,
    kubeconfigPath: cluster.kubeconfigPath,
    server: cluster.server,
    token: cluster.token,
    caFile: cluster.caFile,
    nodeName: cluster.nodeName,
    podNetwork: cluster.podNetwork,
    dockerHost: cluster.docker.host,
    dockerSocket: cluster.docker.socket,
    dockerDir: cluster.docker.dir,
  };
}

export async function sharedKubeCluster(): Promise<KubeCluster> {
  const infoFile = process.env[KUBE_CLUSTER_ENV];
  if (infoFile === undefined || infoFile === '') return startKubeCluster();
  const info = JSON.parse(fs.readFileSync(infoFile, 'utf8')) as KubeClusterInfo;
  return {
    dir: info.dir,
    kubeconfigPath: info.kubeconfigPath,
    server: info.server,
    token: info.token,
    caFile: info.caFile,
    caPem: fs.readFileSync(info.caFile, 'utf8'),
    nodeName: info.nodeName,
    podNetwork: info.podNetwork,
    docker: attachedDocker(info),
    milestones: {},
    // The run's cluster outlives this file: the runner stops it after the last one.
    stop: async () => {},
  };
}

/** The shared cluster's dockerd, for building images: it belongs to the runner, so this side cannot stop it. */
function attachedDocker(info: KubeClusterInfo): DockerDaemon {
  const env = { ...process.env, DOCKER_HOST: info.dockerHost, DOCKER_BUILDKIT: '0', DOCKER_CLI_HINTS: 'false' };
  const refuse = (): Promise<void> =>
    Promise.reject(new Error('the shared test cluster’s dockerd belongs to scripts/run-tests.mjs'));
  return {
    dir: info.dockerDir,
    socket: info.dockerSocket,
    host: info.dockerHost,
    docker: new Docker({ socketPath: info.dockerSocket }),
    cli: async (args, input) => {
      if (input === undefined) return (await run('docker', args, { env, maxBuffer: 16 * 1024 * 1024 })).stdout;
      const result = spawnSync('docker', args, { env, input, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
      if (result.status !== 0) throw new Error(`docker ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
      return result.stdout;
    },
    stop: async () => {},
    kill: refuse,
    restart: refuse,
  };
}
