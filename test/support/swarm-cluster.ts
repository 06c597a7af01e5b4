import { findFreePort } from '../../src/runtime/process/free-port.js';
import { startDockerDaemon, type DockerDaemon } from './docker-daemon.js';
import { holdBridge, releaseBridge, takeSwarmTurn } from './swarm-daemon.js';

/**
 * A real multi-node Swarm on this one machine: one dockerd per node (each
 * with its own data root, exec root and socket, as docker-daemon.ts starts
 * them), the first `swarm init`, the others `swarm join`. Each node
 * advertises, listens and carries its data path on a loopback address of its
 * own (127.0.0.2 for the manager, 127.0.0.3, 127.0.0.4 for the workers), and
 * cutover is told those addresses (server.swarm.node_addresses), so each
 * task binds its own node's address only: a task dialled at another node's
 * address is refused. Network namespaces were the alternative; loopback
 * addresses carry Swarm's control plane (a worker's Status.Addr is the
 * address its connection came from, 127.0.0.1, hence the override) and the
 * host network the tasks use, which is all this needs.
 *
 * `stop()` makes the workers leave, the manager leave with --force, stops
 * every daemon (docker-daemon.ts removes its containers and directory) and
 * releases docker_gwbridge as swarm-daemon.ts does: nothing is left.
 */
export interface SwarmNodeDaemon {
  daemon: DockerDaemon;
  nodeId: string;
  /** The loopback address the node advertises and its tasks listen on. */
  address: string;
  role: 'manager' | 'worker';
}

export interface SwarmCluster {
  manager: SwarmNodeDaemon;
  workers: SwarmNodeDaemon[];
  nodes: SwarmNodeDaemon[];
  /** `server.swarm` for cutover.yaml: every node's address by its ID. */
  serverYaml(): string;
  stop(): Promise<void>;
}

export async function startSwarmCluster(workers = 1): Promise<SwarmCluster> {
  await takeSwarmTurn();
  const holder = holdBridge();
  const daemons: DockerDaemon[] = [];
  const nodes: SwarmNodeDaemon[] = [];
  const stop = async (): Promise<void> => {
    // Workers first: a manager that left first would leave them retrying a swarm that is gone.
    for (const daemon of [...daemons].reverse()) {
      await daemon.cli(['swarm', 'leave', '--force']).catch(() => {});
      await daemon.stop().catch(() => {});
    }
    releaseBridge(holder);
  };
  try {
    const managerAddress = '127.0.0.2';
    const managerPort = await findFreePort(managerAddress);
    const dataPathPort = await findFreePort();
    const manager = await startDockerDaemon();
    daemons.push(manager);
    await manager.cli([
      'swarm',
      'init',
      '--advertise-addr',
      `${managerAddress}:${managerPort}`,
      '--listen-addr',
      `${managerAddress}:${managerPort}`,
      '--data-path-addr',
      managerAddress,
      '--data-path-port',
      String(dataPathPort),
    ]);
    nodes.push({ daemon: manager, nodeId: await nodeIdOf(manager), address: managerAddress, role: 'manager' });
    const token = (await manager.cli(['swarm', 'join-token', '-q', 'worker'])).trim();
    for (let i = 0; i < workers; i++) {
      const address = `127.0.0.${3 + i}`;
      const port = await findFreePort(address);
      const worker = await startDockerDaemon();
      daemons.push(worker);
      await worker.cli([
        'swarm',
        'join',
        '--token',
        token,
        '--advertise-addr',
        `${address}:${port}`,
        '--listen-addr',
        `${address}:${port}`,
        '--data-path-addr',
        address,
        `${managerAddress}:${managerPort}`,
      ]);
      nodes.push({ daemon: worker, nodeId: await nodeIdOf(worker), address, role: 'worker' });
    }
    await untilAllReady(manager, nodes.length);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    manager: nodes[0] as SwarmNodeDaemon,
    workers: nodes.slice(1),
    nodes,
    serverYaml: () =>
      `swarm:\n  node_addresses:\n${nodes.map((node) => `    ${node.nodeId}: ${node.address}`).join('\n')}\n`,
    stop,
  };
}

async function nodeIdOf(daemon: DockerDaemon): Promise<string> {
  const info = (await daemon.docker.info()) as { Swarm?: { NodeID?: string } };
  if (!info.Swarm?.NodeID) throw new Error(`the daemon at ${daemon.host} is in no swarm`);
  return info.Swarm.NodeID;
}

async function untilAllReady(manager: DockerDaemon, count: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const nodes = (await manager.docker.listNodes()) as { Status?: { State?: string } }[];
    if (nodes.length === count && nodes.every((node) => node.Status?.State === 'ready')) return;
    if (Date.now() > deadline) throw new Error(`the swarm has not ${count} ready nodes after 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The state Swarm reports for a node (ready, down, ...). */
export async function nodeState(manager: DockerDaemon, nodeId: string): Promise<string> {
  const node = (await manager.docker.getNode(nodeId).inspect()) as { Status?: { State?: string } };
  return node.Status?.State ?? 'unknown';
}
