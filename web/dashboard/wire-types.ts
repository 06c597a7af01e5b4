/**
 * The shapes the dashboard reads from the admin API and the event stream.
 * They mirror the server's types (src/controller/service-status.ts,
 * src/store/records.ts, src/dashboard/release-rates.ts), trimmed to the
 * fields the page uses; the client is compiled apart from the server.
 */
export interface InstanceStatus {
  id: string;
  index: number;
  port: number;
  health: string;
  restarts: number;
  /** The cluster node it runs on (Swarm, Kubernetes); null (or absent, from an older server) on one machine. */
  node?: string | null;
}

export interface SlotStatus {
  releaseId: string;
  version: string;
  slot: string;
  state: string;
  instances: InstanceStatus[];
  running: string;
}

export interface CanaryStatus extends SlotStatus {
  weight: number;
  step: number;
  steps: number;
  phase: string;
  pausedBy: string | null;
}

export interface RecentOperation {
  id: string;
  kind: string;
  from: string | null;
  to: string | null;
  outcome: string | null;
  startedAt: number;
  durationMs: number | null;
  actor: string;
  error: string | null;
}

export interface ServiceStatus {
  service: string;
  hosts: string[];
  strategy: string;
  active: SlotStatus | null;
  standby: SlotStatus | null;
  canary: CanaryStatus | null;
  operation: {
    id: string;
    kind: string;
    phase: string;
    releaseId: string | null;
    startedAt: number;
    actor: string;
  } | null;
  /** Set while users get the maintenance page (`cutover maintenance on`); absent from an older server. */
  maintenance?: {
    message: string;
    retryAfterSec: number;
    allow: string[];
    actor: string;
    since: number;
  } | null;
  recent: RecentOperation[];
}

export interface EventRecord {
  seq: number;
  operationId: string | null;
  service: string;
  releaseId: string | null;
  at: number;
  type: string;
  message: string;
}

export interface ReleaseRate {
  service: string;
  releaseId: string;
  /** Requests the proxy counted for the release between the reading before and this one. */
  requests: number;
  requestsPerSecond: number;
  errorRate: number | null;
  p95Ms: number | null;
}

export interface MetricsPoint {
  at: number;
  releases: ReleaseRate[];
}

export interface FlagEntry {
  flag: { key: string; description?: string; enabled: boolean; rollout: { percentage: number } | null };
  version: number;
  updatedBy: string;
  /** The flag's reasons to be stale (flags.stale_after); empty or absent when it is not. */
  stale?: { reason: string; since: number; detail: string }[];
}

export interface FlagList {
  environment: string;
  revision: number;
  flags: FlagEntry[];
}

export interface MigrationEntry {
  id: string;
  phase: string;
  state: string;
  reason?: string | null;
}

/** The multi-service deploy in progress (GET /api/v1/deploys/current), as WaveSummary in src/controller/deploy-wave-runner.ts. */
export interface DeployWave {
  id: string;
  version: string;
  actor: string;
  wave: number;
  waves: number;
  services: { service: string; wave: number; progress: string; phase: string | null }[];
}

/** Which router moves the traffic and where it listens, as RouterInUse in src/config/router-in-use.ts. */
export interface RouterInUse {
  kind: string;
  listen: string;
  /** `host:port` of the TLS listener, when there is one. */
  https?: string;
}

export interface Hello {
  router?: RouterInUse;
  deploy?: DeployWave | null;
  services: ServiceStatus[];
  flags: FlagList;
  metrics: MetricsPoint[];
}
