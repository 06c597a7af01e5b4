import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * The test cluster's pod network: every pod gets an address of its own on a
 * bridge, as on a normal cluster, so `network: pod` (cutover dials pod
 * IP:container_port) runs for real. It is made only inside a network
 * namespace the test run created for itself (scripts/in-netns.sh, which sets
 * CUTOVER_TEST_NETNS): the bridge, the pods' veth pairs and the routes then
 * touch no interface of the machine and go with the namespace. Outside one
 * the cluster has host networking only.
 *
 * - The node's address is one end of a veth pair whose other end stays in
 *   the namespace too: the kubelet wants a non-loopback --node-ip that is on
 *   an interface, and this machine's kernel has no dummy interfaces.
 * - The CNI plugins are Debian's (containernetworking-plugins): `bridge` with
 *   `host-local` addresses, no masquerading (there is nowhere to go out to),
 *   and `loopback`, which the kubelet's dockershim runs for every pod itself.
 */
export const NETNS_ENV = 'CUTOVER_TEST_NETNS';
export const CNI_BIN_DIR = '/usr/lib/cni';
const NODE_LINK = 'cutover-node';
const NODE_PEER = 'cutover-peer';
const NODE_IP = '10.89.1.1';
export const POD_SUBNET = '10.89.0.0/24';

export interface PodNetwork {
  nodeIp: string;
  confDir: string;
  cacheDir: string;
}

/** The name of the namespace this process runs in for the tests, or null when there is none. */
export function testNetns(): string | null {
  const name = process.env[NETNS_ENV];
  return name === undefined || name === '' ? null : name;
}

/** Sets the pod network up for a cluster in `dir`, or returns null outside a test namespace. */
export function setUpPodNetwork(dir: string): PodNetwork | null {
  if (testNetns() === null) return null;
  if (!fs.existsSync(path.join(CNI_BIN_DIR, 'bridge')))
    throw new Error(`${CNI_BIN_DIR}/bridge is missing: the pod network needs containernetworking-plugins`);
  const ip = (...args: string[]): void => {
    execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
  };
  // A cluster started earlier in the same namespace left them: they are the same.
  const links = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8', timeout: 10_000 });
  if (!links.includes(`${NODE_LINK}@`)) {
    ip('link', 'add', NODE_LINK, 'type', 'veth', 'peer', 'name', NODE_PEER);
    ip('addr', 'add', `${NODE_IP}/32`, 'dev', NODE_LINK);
    ip('link', 'set', NODE_PEER, 'up');
    ip('link', 'set', NODE_LINK, 'up');
    // The kubelet looks for the interface of the default route; nothing leaves the namespace through it.
    ip('route', 'add', 'default', 'dev', NODE_LINK);
  }
  const confDir = path.join(dir, 'cni', 'conf');
  const cacheDir = path.join(dir, 'cni', 'cache');
  fs.mkdirSync(confDir, { recursive: true });
  fs.mkdirSync(cacheDir, { recursive: true });
  const conflist = {
    cniVersion: '0.4.0',
    name: 'cutover-test-pods',
    plugins: [
      {
        type: 'bridge',
        bridge: 'cutover0',
        isGateway: true,
        ipMasq: false,
        hairpinMode: false,
        ipam: {
          type: 'host-local',
          ranges: [[{ subnet: POD_SUBNET }]],
          dataDir: path.join(dir, 'cni', 'ipam'),
        },
      },
    ],
  };
  fs.writeFileSync(path.join(confDir, '10-cutover-test-pods.conflist'), JSON.stringify(conflist, null, 2));
  return { nodeIp: NODE_IP, confDir, cacheDir };
}

/** The kubelet's flags for the pod network (none: the dockershim's default, host networking only). */
export function podNetworkKubeletArgs(network: PodNetwork | null): string[] {
  if (network === null) return [];
  return [
    '--network-plugin=cni',
    `--cni-bin-dir=${CNI_BIN_DIR}`,
    `--cni-conf-dir=${network.confDir}`,
    `--cni-cache-dir=${network.cacheDir}`,
    `--node-ip=${network.nodeIp}`,
  ];
}
