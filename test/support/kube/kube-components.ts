import path from 'node:path';
import type { KubeCredentials } from './kube-certificates.js';

/**
 * The command lines of the test cluster's components, as found to work on
 * this machine (a VM with cgroup v1, no way to lower oom_score_adj, loopback
 * only). Every port is a free one on 127.0.0.1 and every path is under the
 * cluster's directory, so two clusters can run at once (a standalone test
 * next to the suite's), apart from the paths the kubelet of 1.20 hard-codes
 * (/var/log/pods, /var/log/containers, /var/lib/kubelet/device-plugins: see
 * kube-host-leftovers.ts).
 */
export interface ClusterLayout {
  dir: string;
  credentials: KubeCredentials;
  nodeName: string;
  ports: { etcdClient: number; etcdPeer: number; apiserver: number; kubelet: number };
  /** The pod sandbox image, imported into the cluster's dockerd (there is no registry to pull it from). */
  pauseImage: string;
  dockerHost: string;
}

/** The Service IP range: no kube-proxy runs, so no Service IP answers; pods use host networking. */
export const SERVICE_CLUSTER_IP_RANGE = '10.0.0.0/24';

export function etcdArgs(layout: ClusterLayout): string[] {
  const client = `http://127.0.0.1:${layout.ports.etcdClient}`;
  const peer = `http://127.0.0.1:${layout.ports.etcdPeer}`;
  return [
    '--name=cutover-test',
    `--data-dir=${path.join(layout.dir, 'etcd')}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=cutover-test=${peer}`,
    // A throwaway cluster: an fsync per write only slows every API call on a loaded test machine.
    '--unsafe-no-fsync',
    '--log-level=warn',
  ];
}

export function apiserverArgs(layout: ClusterLayout): string[] {
  const c = layout.credentials;
  return [
    `--etcd-servers=http://127.0.0.1:${layout.ports.etcdClient}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${layout.ports.apiserver}`,
    // 1.20 still serves plain HTTP on 127.0.0.1:8080 unless told not to.
    '--insecure-port=0',
    `--tls-cert-file=${c.apiserverCertFile}`,
    `--tls-private-key-file=${c.apiserverKeyFile}`,
    `--client-ca-file=${c.caFile}`,
    `--token-auth-file=${c.tokenFile}`,
    '--authorization-mode=Node,RBAC',
    '--enable-admission-plugins=NodeRestriction',
    `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
    // The kubernetes Service's endpoint would be 127.0.0.1, which the API refuses (loopback) every 10 s in
    // the log; no kube-proxy runs to carry Service IPs anyway.
    '--endpoint-reconciler-type=none',
    // Required since 1.20 (bound service-account tokens).
    '--service-account-issuer=https://kubernetes.default.svc',
    `--service-account-key-file=${c.serviceAccountPublicKeyFile}`,
    `--service-account-signing-key-file=${c.serviceAccountKeyFile}`,
    // Logs and exec go API server -> kubelet. The node's InternalIP is the VM's own interface address,
    // where the kubelet (bound to 127.0.0.1) does not listen, and the kubelet refuses a loopback
    // --node-ip; its Hostname address is the node name, localhost, which resolves to 127.0.0.1.
    '--kubelet-preferred-address-types=Hostname',
    `--kubelet-client-certificate=${c.kubeletClientCertFile}`,
    `--kubelet-client-key=${c.kubeletClientKeyFile}`,
    '--profiling=false',
  ];
}

export function controllerManagerArgs(layout: ClusterLayout, kubeconfig: string): string[] {
  return [
    `--kubeconfig=${kubeconfig}`,
    // The token controller fills each namespace's default service account with a token and the CA.
    `--service-account-private-key-file=${layout.credentials.serviceAccountKeyFile}`,
    `--root-ca-file=${layout.credentials.caFile}`,
    // Its default is under /usr/libexec, which it would create.
    `--flex-volume-plugin-dir=${path.join(layout.dir, 'controller-manager', 'volume-plugins')}`,
    '--leader-elect=false',
    // No serving ports at all: nothing scrapes them, and fixed defaults would clash with a second cluster.
    '--port=0',
    '--secure-port=0',
    '--bind-address=127.0.0.1',
    '--profiling=false',
  ];
}

export function schedulerArgs(kubeconfig: string): string[] {
  return [
    `--kubeconfig=${kubeconfig}`,
    '--leader-elect=false',
    '--port=0',
    '--secure-port=0',
    '--bind-address=127.0.0.1',
    '--profiling=false',
  ];
}

/** The KubeletConfiguration file: the settings 1.20 wants in a file rather than as (deprecated) flags. */
export function kubeletConfig(layout: ClusterLayout): object {
  return {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    address: '127.0.0.1',
    port: layout.ports.kubelet,
    readOnlyPort: 0,
    healthzPort: 0,
    // dockerd's driver on this cgroup v1 machine.
    cgroupDriver: 'cgroupfs',
    failSwapOn: false,
    // No kubepods cgroup hierarchy: the VM's cgroups are not the kubelet's to arrange.
    cgroupsPerQOS: false,
    enforceNodeAllocatable: [],
    // No iptables here (the test dockerd runs with --iptables=false too).
    makeIPTablesUtilChains: false,
    // This VM forbids lowering oom_score_adj (see runc-clamp-oom.py); 0 is what the kubelet already has.
    oomScoreAdj: 0,
    // A test machine's disk or memory filling up must not evict the pods under test.
    evictionHard: {},
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    hairpinMode: 'none',
    // The kubelet computes its node's status every second, so the node turns Ready about a second after
    // the runtime does rather than at the next 10 s tick (18 s from the kubelet's start to Ready, then 8 s).
    // It only sends the status when it changed, or every 5 minutes (the default, which setting the first
    // would change too).
    nodeStatusUpdateFrequency: '1s',
    nodeStatusReportFrequency: '5m',
    volumePluginDir: path.join(layout.dir, 'kubelet', 'volume-plugins'),
    // The API server presents a client certificate of the cluster's CA; nobody else may use the kubelet's API.
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: false },
      x509: { clientCAFile: layout.credentials.caFile },
    },
    authorization: { mode: 'AlwaysAllow' },
  };
}

export function kubeletArgs(layout: ClusterLayout, configFile: string, kubeconfig: string): string[] {
  const kubeletDir = path.join(layout.dir, 'kubelet');
  return [
    `--config=${configFile}`,
    `--kubeconfig=${kubeconfig}`,
    `--hostname-override=${layout.nodeName}`,
    '--container-runtime=docker',
    `--docker-endpoint=${layout.dockerHost}`,
    // dockershim's own gRPC socket, by default /var/run/dockershim.sock: one per cluster.
    `--container-runtime-endpoint=unix://${path.join(kubeletDir, 'dockershim.sock')}`,
    `--experimental-dockershim-root-directory=${path.join(kubeletDir, 'dockershim')}`,
    `--pod-infra-container-image=${layout.pauseImage}`,
    `--root-dir=${path.join(kubeletDir, 'root')}`,
    `--cert-dir=${path.join(kubeletDir, 'pki')}`,
  ];
}
