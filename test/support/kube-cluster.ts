import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { findFreePort } from '../../src/runtime/process/free-port.js';
import { startDockerDaemon, type DockerDaemon } from './docker-daemon.js';
import { kubeconfigYaml, makeKubeCredentials } from './kube/kube-certificates.js';
import {
  apiserverArgs,
  controllerManagerArgs,
  etcdArgs,
  kubeletArgs,
  kubeletConfig,
  schedulerArgs,
  type ClusterLayout,
} from './kube/kube-components.js';
import { kubeApi, type KubeApiTarget } from './kube/kube-api.js';
import { hasExited, logTail, startKubeProcess, stopKubeProcess, type KubeProcess } from './kube/kube-processes.js';
import { removeHostLeftovers } from './kube/kube-host-leftovers.js';
import { takeKubeTurn } from './kube/kube-turn.js';
import { findBinary } from './kube/find-binary.js';
import { installRuncWrapper } from './kube/runc-wrapper.js';
import { podNetworkKubeletArgs, setUpPodNetwork } from './kube/kube-pod-network.js';

const run = promisify(execFile);

/**
 * A real single-node Kubernetes cluster (v1.20.2, built from Debian's
 * source by scripts/build-kubernetes.sh) for the Kubernetes runtime's tests:
 * etcd, kube-apiserver (RBAC on, a static admin token in system:masters),
 * kube-controller-manager, kube-scheduler, and one kubelet on a dockerd of
 * its own (docker-daemon.ts) through the kubelet's built-in dockershim.
 * Everything listens on 127.0.0.1 on free ports and keeps its state in one
 * temporary directory (the dockerd in one of its own, as docker-daemon.ts
 * makes it). There is no registry: images are imported or built offline
 * into `docker` (imagePullPolicy: Never). Pods use `hostNetwork: true`,
 * listening on a port given in their env, or, in the test run's own network
 * namespace, addresses of their own on a bridge (kube/kube-pod-network.ts).
 *
 * `stop()` kills every component by its pid, removes the dockerd's
 * containers, unmounts what the kubelet mounted and removes the directory;
 * a failed start does the same and throws with each component's log.
 * One cluster serves a whole test run: see kube-cluster-shared.ts; and one
 * runs at a time on the machine: see kube/kube-turn.ts.
 */
export interface KubeCluster {
  /** The cluster's temporary directory: certificates, kubeconfigs, etcd's data, the kubelet's root, logs/. */
  dir: string;
  /** An admin kubeconfig (CA embedded, the admin token), for client libraries and kubectl. */
  kubeconfigPath: string;
  /** https://127.0.0.1:<port> */
  server: string;
  /** Bearer token of a user in system:masters. */
  token: string;
  caFile: string;
  caPem: string;
  /** The one node's name; its kubelet answers on 127.0.0.1 (the API server dials it by this name). */
  nodeName: string;
  /**
   * True when pods can have addresses of their own (the run's network namespace, kube/kube-pod-network.ts):
   * `network: pod` works. Host networking always does.
   */
  podNetwork: boolean;
  /** The node's dockerd: build or import the images pods run here. */
  docker: DockerDaemon;
  /** When each step of the start was done, in ms from its beginning (empty for a shared cluster). */
  milestones: Record<string, number>;
  stop(): Promise<void>;
}

export const KUBERNETES_VERSION = '1.20.2';
/** The pod sandbox image, built from the tree's pause.c and imported under this name. */
export const PAUSE_IMAGE = 'cutover-test/pause:1.20.2';
const NODE_NAME = 'localhost';
const START_TIMEOUT_MS = 120_000;

export function kubeBinaryDir(): string {
  return process.env.CUTOVER_KUBE_DIR ?? `/opt/cutover-kube/${KUBERNETES_VERSION}`;
}

export async function startKubeCluster(): Promise<KubeCluster> {
  const binaries = kubeBinaryDir();
  for (const name of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubelet', 'pause'])
    if (!fs.existsSync(path.join(binaries, name)))
      throw new Error(
        `${path.join(binaries, name)} is missing: the Kubernetes tests need the cluster's binaries ` +
          '(bash scripts/build-kubernetes.sh)',
      );
  const etcd = findBinary('etcd', 'etcd-server');
  const python = findBinary('python3', 'python3');

  const startedAt = Date.now();
  const milestones: Record<string, number> = {};
  const reached = (name: string): void => {
    milestones[name] = Date.now() - startedAt;
  };
  const releaseTurn = await takeKubeTurn();
  reached('turn');
  const deadline = Date.now() + START_TIMEOUT_MS;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-kube-'));
  const components: KubeProcess[] = [];
  let docker: DockerDaemon | undefined;
  let target: KubeApiTarget | undefined;
  const stop = async (): Promise<void> => {
    try {
      await stopCluster(dir, components, docker, target);
    } finally {
      releaseTurn();
    }
  };
  try {
    const credentials = await makeKubeCredentials(path.join(dir, 'pki'), NODE_NAME);
    const ports = {
      etcdClient: await findFreePort(),
      etcdPeer: await findFreePort(),
      apiserver: await findFreePort(),
      kubelet: await findFreePort(),
    };
    const server = `https://127.0.0.1:${ports.apiserver}`;
    const api: KubeApiTarget = { server, token: credentials.adminToken, caPem: credentials.caPem };
    target = api;
    const kubeconfigPath = path.join(dir, 'admin.kubeconfig');
    const admin = kubeconfigYaml(server, credentials.caPem, 'cutover-test-admin', credentials.adminToken);
    fs.writeFileSync(kubeconfigPath, admin, { mode: 0o600 });
    const kubeletKubeconfig = path.join(dir, 'kubelet.kubeconfig');
    const node = kubeconfigYaml(server, credentials.caPem, `system:node:${NODE_NAME}`, credentials.kubeletToken);
    fs.writeFileSync(kubeletKubeconfig, node, { mode: 0o600 });
    reached('credentials');

    // The node's dockerd and the control plane are independent: started side by side.
    const layout: ClusterLayout = {
      dir,
      credentials,
      nodeName: NODE_NAME,
      ports,
      pauseImage: PAUSE_IMAGE,
      dockerHost: '',
    };
    const start = (name: string, binary: string, args: string[]): void => {
      components.push(startKubeProcess(path.join(dir, 'logs'), name, binary, args, dir));
    };
    const dockerStarted = startNodeDocker(installRuncWrapper(dir, python), dir, binaries).then((daemon) => {
      docker = daemon;
      reached('dockerd with the pause image');
      return daemon;
    });
    const controlPlane = (async () => {
      start('etcd', etcd, etcdArgs(layout));
      await until('etcd answers', deadline, components, () => etcdHealthy(ports.etcdClient));
      reached('etcd');
      start('kube-apiserver', path.join(binaries, 'kube-apiserver'), apiserverArgs(layout));
      await until('the API server is ready', deadline, components, async () => {
        return (await kubeApi(api, 'GET', '/readyz')).status === 200;
      });
      reached('kube-apiserver');
      const managerArgs = controllerManagerArgs(layout, kubeconfigPath);
      start('kube-controller-manager', path.join(binaries, 'kube-controller-manager'), managerArgs);
      start('kube-scheduler', path.join(binaries, 'kube-scheduler'), schedulerArgs(kubeconfigPath));
    })();
    const [dockerResult, controlPlaneResult] = await Promise.allSettled([dockerStarted, controlPlane]);
    if (dockerResult.status === 'rejected') throw dockerResult.reason;
    if (controlPlaneResult.status === 'rejected') throw controlPlaneResult.reason;

    layout.dockerHost = dockerResult.value.host;
    const kubeletConfigFile = path.join(dir, 'kubelet-config.json');
    fs.writeFileSync(kubeletConfigFile, JSON.stringify(kubeletConfig(layout), null, 2));
    const podNetwork = setUpPodNetwork(dir);
    start('kubelet', path.join(binaries, 'kubelet'), [
      ...kubeletArgs(layout, kubeletConfigFile, kubeletKubeconfig),
      ...podNetworkKubeletArgs(podNetwork),
    ]);
    await until('the node is Ready', deadline, components, () => nodeReady(api, NODE_NAME));
    reached('node Ready');
    // Pods are refused until their namespace's default service account exists with its token.
    await until('the default service account has its token', deadline, components, () =>
      defaultServiceAccountReady(api),
    );
    reached('default service account');
    return {
      dir,
      kubeconfigPath,
      server,
      token: credentials.adminToken,
      caFile: credentials.caFile,
      caPem: credentials.caPem,
      nodeName: NODE_NAME,
      podNetwork: podNetwork !== null,
      docker: dockerResult.value,
      milestones,
      stop,
    };
  } catch (error) {
    const logs = components.map(
      (c) => `  ${c.name}${hasExited(c) ? ` (exited ${c.child.exitCode ?? c.child.signalCode})` : ''}:\n${logTail(c)}`,
    );
    await stop().catch(() => {});
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`the test Kubernetes cluster did not start: ${message}\ncomponent logs:\n${logs.join('\n')}`);
  }
}

/** The node's dockerd with the wrapper as its default runtime, and the pause image imported into it. */
async function startNodeDocker(wrapper: string, dir: string, binaries: string): Promise<DockerDaemon> {
  const docker = await startDockerDaemon({
    extraArgs: [
      '--add-runtime',
      `clamp-oom=${wrapper}`,
      '--default-runtime',
      'clamp-oom',
      // The kubelet's cgroupDriver must match.
      '--exec-opt',
      'native.cgroupdriver=cgroupfs',
    ],
  });
  try {
    const rootfs = path.join(dir, 'pause-rootfs');
    fs.mkdirSync(rootfs);
    fs.copyFileSync(path.join(binaries, 'pause'), path.join(rootfs, 'pause'));
    fs.chmodSync(path.join(rootfs, 'pause'), 0o755);
    const tarball = path.join(dir, 'pause.tar');
    await run('tar', ['-C', rootfs, '-cf', tarball, '.'], { timeout: 30_000 });
    await docker.cli(['import', '--change', 'ENTRYPOINT ["/pause"]', tarball, PAUSE_IMAGE]);
    return docker;
  } catch (error) {
    await docker.stop().catch(() => {});
    throw error;
  }
}

/** Polls `check` until it is true; fails at the deadline or as soon as a component has exited. */
async function until(
  what: string,
  deadline: number,
  components: KubeProcess[],
  check: () => Promise<boolean>,
): Promise<void> {
  let lastError = '';
  for (;;) {
    const exited = components.find(hasExited);
    if (exited)
      throw new Error(`${exited.name} exited (${exited.child.exitCode ?? exited.child.signalCode}) before ${what}`);
    try {
      if (await check()) return;
      lastError = '';
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting until ${what}${lastError ? ` (last error: ${lastError})` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function etcdHealthy(port: number): Promise<boolean> {
  const response = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2_000) });
  return response.ok && ((await response.json()) as { health?: string }).health === 'true';
}

async function nodeReady(target: KubeApiTarget, nodeName: string): Promise<boolean> {
  const response = await kubeApi(target, 'GET', `/api/v1/nodes/${nodeName}`);
  if (response.status !== 200) return false;
  const conditions = (response.json as { status?: { conditions?: { type: string; status: string }[] } }).status
    ?.conditions;
  return conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

async function defaultServiceAccountReady(target: KubeApiTarget): Promise<boolean> {
  const response = await kubeApi(target, 'GET', '/api/v1/namespaces/default/serviceaccounts/default');
  return response.status === 200 && ((response.json as { secrets?: unknown[] }).secrets?.length ?? 0) > 0;
}

/**
 * The kubelet first (it would restart what is removed under it), then the
 * node's dockerd with every container, the control plane, etcd last; then
 * what the kubelet mounted (its root dir, secret volumes) and left on the
 * host, and the directory.
 */
async function stopCluster(
  dir: string,
  components: KubeProcess[],
  docker: DockerDaemon | undefined,
  target: KubeApiTarget | undefined,
): Promise<void> {
  const podUids = target ? await listPodUids(target).catch(() => []) : [];
  const byName = (name: string): KubeProcess[] => components.filter((c) => c.name === name);
  await Promise.all(byName('kubelet').map((c) => stopKubeProcess(c)));
  if (docker) await docker.stop();
  const controlPlane = ['kube-scheduler', 'kube-controller-manager', 'kube-apiserver'].flatMap(byName);
  await Promise.all(controlPlane.map((c) => stopKubeProcess(c)));
  await Promise.all(byName('etcd').map((c) => stopKubeProcess(c)));
  unmountUnder(dir);
  fs.rmSync(dir, { recursive: true, force: true });
  await removeHostLeftovers(podUids);
}

async function listPodUids(target: KubeApiTarget): Promise<string[]> {
  const response = await kubeApi(target, 'GET', '/api/v1/pods');
  if (response.status !== 200) return [];
  const items = (response.json as { items?: { metadata?: { uid?: string } }[] }).items ?? [];
  return items.map((pod) => pod.metadata?.uid ?? '').filter((uid) => uid !== '');
}

/** Mounts under the directory (the kubelet's root dir, bound on itself, and pods' secret volumes), deepest first. */
function unmountUnder(dir: string): void {
  const mounts = fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((mountPoint) => mountPoint === dir || mountPoint.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const mountPoint of mounts) spawnSync('umount', ['-l', mountPoint], { stdio: 'ignore' });
}
