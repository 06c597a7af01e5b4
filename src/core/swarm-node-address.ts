/**
 * Where cutover dials the tasks of a Swarm node: the one rule, shared by the
 * swarm runtime (which routes there and binds the tasks' HOST to it) and
 * `cutover doctor` (which shows it). First match wins:
 *
 * 1. `server.swarm.node_addresses`, by node ID, then by hostname;
 * 2. the node label `cutover.address`;
 * 3. loopback for the manager cutover runs on (its daemon is a local socket),
 *    so that node's tasks are not exposed beyond this machine, as on a
 *    one-node swarm;
 * 4. the node's `Status.Addr`: the manager's own advertise address, and for a
 *    worker the address its connection to the manager came from, right on an
 *    ordinary network, wrong behind NAT or on a machine with several
 *    addresses (hence 1 and 2);
 * 5. the fallback (loopback) when Swarm has no address yet (0.0.0.0).
 *
 * Not the overlay address (cutover's proxy is not on the overlay) nor the
 * routing mesh (a second balancer behind the proxy hides which task answers,
 * so per-task health checks and drains would mean nothing).
 */
export const NODE_ADDRESS_LABEL = 'cutover.address';

export interface SwarmNodeFacts {
  id: string;
  hostname: string;
  labels: Readonly<Record<string, string>>;
  /** Status.Addr as Swarm reports it. */
  statusAddress: string | null;
  /** The node of the daemon cutover talks to. */
  self: boolean;
}

export interface SwarmAddressRules {
  overrides: Readonly<Record<string, string>>;
  /** Loopback for the manager when cutover runs on it; null when the manager is another machine. */
  selfAddress: string | null;
  fallback: string;
}

export type SwarmAddressSource = 'node_addresses' | 'label' | 'this machine' | 'Status.Addr' | 'fallback';

export function swarmNodeAddress(
  node: SwarmNodeFacts,
  rules: SwarmAddressRules,
): { address: string; source: SwarmAddressSource } {
  const override = rules.overrides[node.id] ?? (node.hostname ? rules.overrides[node.hostname] : undefined);
  if (override !== undefined) return { address: override, source: 'node_addresses' };
  // A label and Status.Addr come from whoever can edit the swarm's nodes: only an IP address is taken (it is
  // dialled by the proxy and written into the tasks' start script); anything else falls through to the next rule.
  const label = node.labels[NODE_ADDRESS_LABEL]?.trim();
  if (label && isIpAddress(label)) return { address: label, source: 'label' };
  if (node.self && rules.selfAddress !== null) return { address: rules.selfAddress, source: 'this machine' };
  if (node.statusAddress && node.statusAddress !== '0.0.0.0' && isIpAddress(node.statusAddress))
    return { address: node.statusAddress, source: 'Status.Addr' };
  return { address: rules.fallback, source: 'fallback' };
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6 = /^[0-9A-Fa-f:.]{2,45}$/;

/** A literal IPv4 or IPv6 address (IPv6 by its alphabet: what matters is that no name or other text passes). */
export function isIpAddress(value: string): boolean {
  return IPV4.test(value) || (value.includes(':') && IPV6.test(value));
}

/** Keys of `node_addresses` that name no node of the swarm (a typo, or a node that left). */
export function unknownNodeKeys(
  overrides: Readonly<Record<string, string>>,
  nodes: readonly Pick<SwarmNodeFacts, 'id' | 'hostname'>[],
): string[] {
  return Object.keys(overrides).filter((key) => !nodes.some((node) => node.id === key || node.hostname === key));
}
