import { Agent, request } from 'undici';
import { swarmNodeAddress, unknownNodeKeys, type SwarmNodeFacts } from '../core/swarm-node-address.js';
import type { CheckResult } from './check-result.js';

interface RawNode {
  ID: string;
  Description?: { Hostname?: string };
  Spec?: { Labels?: Record<string, string> };
  Status?: { State?: string; Addr?: string };
}

/**
 * The nodes of the swarm and the address cutover will dial each one's tasks
 * at (core/swarm-node-address.ts), so a multi-node setup can be read before
 * a deploy; a `server.swarm.node_addresses` key that names no node (a typo)
 * is a warning. Asked of the manager's socket, after checkSwarmManager passed.
 */
export async function checkSwarmNodes(
  socketPath: string,
  overrides: Readonly<Record<string, string>>,
): Promise<CheckResult> {
  const dispatcher = new Agent({ connect: { socketPath } });
  const get = async <T>(path: string): Promise<T> => {
    const response = await request(`http://localhost${path}`, { dispatcher, headersTimeout: 3000, bodyTimeout: 3000 });
    if (response.statusCode !== 200) {
      await response.body.dump();
      throw new Error(`${path} answered ${response.statusCode}`);
    }
    return (await response.body.json()) as T;
  };
  try {
    const info = await get<{ Swarm?: { NodeID?: string } }>('/info');
    const raw = await get<RawNode[]>('/nodes');
    const nodes: SwarmNodeFacts[] = raw.map((node) => ({
      id: node.ID,
      hostname: node.Description?.Hostname ?? '',
      labels: node.Spec?.Labels ?? {},
      statusAddress: node.Status?.Addr ?? null,
      self: node.ID === info.Swarm?.NodeID,
    }));
    // The same rules as the runtime's, with the daemon on a local socket (the only one doctor checks).
    const rules = { overrides, selfAddress: '127.0.0.1', fallback: '127.0.0.1' };
    const listed = nodes
      .map((node, i) => {
        const { address, source } = swarmNodeAddress(node, rules);
        const state = raw[i]?.Status?.State ?? 'unknown';
        return `${node.hostname || '?'} (${node.id.slice(0, 12)}, ${state}): ${address} (${source})`;
      })
      .join('; ');
    const message = `${nodes.length} node${nodes.length === 1 ? '' : 's'}, tasks dialled at: ${listed}`;
    const unknown = unknownNodeKeys(overrides, nodes);
    if (unknown.length > 0)
      return {
        id: 'runtime.swarm.nodes',
        status: 'warn',
        message: `server.swarm.node_addresses names ${unknown.join(', ')}, which is no node of this swarm; ${message}`,
        fix: 'Use a node ID or hostname as `docker node ls` shows them.',
      };
    return { id: 'runtime.swarm.nodes', status: 'ok', message };
  } catch (error) {
    return {
      id: 'runtime.swarm.nodes',
      status: 'warn',
      message: `cannot list the swarm's nodes at ${socketPath}: ${(error as Error).message}`,
    };
  } finally {
    await dispatcher.close().catch(() => {});
  }
}
