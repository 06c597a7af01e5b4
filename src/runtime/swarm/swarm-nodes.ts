import type Docker from 'dockerode';
import { swarmNodeAddress } from '../../core/swarm-node-address.js';

/** How long a node list is trusted: a node that goes down is seen within this (plus Swarm's own heartbeat). */
const REFRESH_MS = 1_000;

export interface SwarmNode {
  id: string;
  hostname: string;
  /** Where cutover dials this node's tasks (see addressOf). */
  address: string;
  /** Swarm's Status.State: ready, down, unknown, disconnected. */
  state: string;
  /** Spec.Availability: active, pause, drain. */
  availability: string;
}

interface RawNode {
  ID: string;
  Description?: { Hostname?: string };
  Spec?: { Labels?: Record<string, string>; Availability?: string };
  Status?: { State?: string; Addr?: string };
}

/**
 * The nodes of the swarm as cutover routes to them: a task listens on the
 * host network of the node it runs on, bound to that node's address, and the
 * proxy dials it there. The address rule is core/swarm-node-address.ts.
 */
export class SwarmNodes {
  private nodes = new Map<string, SwarmNode>();
  private fetchedAt = 0;
  private refreshing: Promise<void> | null = null;
  private selfId: Promise<string | null> | null = null;

  constructor(
    private readonly docker: Docker,
    private readonly options: {
      /** `server.swarm.node_addresses`: node ID or hostname to address. */
      overrides: Readonly<Record<string, string>>;
      /** The address of a node Swarm gives none for (a node not yet listed). */
      fallback: string;
      /**
       * The manager's own address when cutover runs on it (the daemon is a
       * local socket): loopback, so its tasks are not exposed beyond this
       * machine, as on a one-node swarm. Null when the manager is remote.
       */
      selfAddress: string | null;
    },
  ) {}

  /** The node list, fetched again when older than a second (or `fresh`). Keeps the last list if the API fails. */
  async all(fresh = false): Promise<SwarmNode[]> {
    if (fresh || Date.now() - this.fetchedAt > REFRESH_MS) await this.refresh();
    return [...this.nodes.values()];
  }

  async get(nodeId: string | null): Promise<SwarmNode | null> {
    if (!nodeId) return null;
    if (!this.nodes.has(nodeId) || Date.now() - this.fetchedAt > REFRESH_MS) await this.refresh();
    return this.nodes.get(nodeId) ?? null;
  }

  async addressOf(nodeId: string | null): Promise<string> {
    return (await this.get(nodeId))?.address ?? this.options.fallback;
  }

  /** Node ID to the address its tasks listen on, for the wrapper's HOST (fetched fresh: a node may have joined). */
  async addressTable(): Promise<Record<string, string>> {
    return Object.fromEntries((await this.all(true)).map((node) => [node.id, node.address]));
  }

  /**
   * Where a task is dialled, and the node it runs on as `docker node ls` names it: its hostname, with the ID's
   * first 12 characters when another node has the same hostname (several daemons on one machine) or none.
   */
  async placementOf(nodeId: string | null): Promise<{ host: string; node?: string }> {
    const node = await this.get(nodeId);
    const host = node?.address ?? this.options.fallback;
    if (!nodeId) return { host };
    const shortId = nodeId.slice(0, 12);
    if (!node?.hostname) return { host, node: shortId };
    const shared = [...this.nodes.values()].some((other) => other.id !== node.id && other.hostname === node.hostname);
    return { host, node: shared ? `${node.hostname} (${shortId})` : node.hostname };
  }

  /** The node of the daemon cutover talks to (the manager), whose task containers its container API can see. */
  selfNodeId(): Promise<string | null> {
    this.selfId ??= this.docker
      .info()
      .then((info: { Swarm?: { NodeID?: string } }) => info.Swarm?.NodeID || null)
      .catch(() => {
        this.selfId = null;
        return null;
      });
    return this.selfId;
  }

  private refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      try {
        const raw = (await this.docker.listNodes()) as RawNode[];
        const self = await this.selfNodeId();
        this.nodes = new Map(raw.map((node) => [node.ID, this.toNode(node, node.ID === self)]));
        this.fetchedAt = Date.now();
      } catch {
        // The manager did not answer: the last list stands; a task's address rarely changes.
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  private toNode(raw: RawNode, self: boolean): SwarmNode {
    const hostname = raw.Description?.Hostname ?? '';
    const { address } = swarmNodeAddress(
      { id: raw.ID, hostname, labels: raw.Spec?.Labels ?? {}, statusAddress: raw.Status?.Addr ?? null, self },
      this.options,
    );
    return {
      id: raw.ID,
      hostname,
      address,
      state: raw.Status?.State ?? 'unknown',
      availability: raw.Spec?.Availability ?? 'active',
    };
  }
}
