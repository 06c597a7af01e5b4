import type { ServiceConfig } from '../config/types.js';
import type { CanaryState } from '../core/canary-strategy.js';
import type { HealthStatus } from '../health/index.js';
import type { ReleaseCounters, Router } from '../router/index.js';
import type { LockRecord, MaintenanceRecord, OperationRecord, ReleaseRecord } from '../store/records.js';
import { toMeasurement, type AnalysisMeasurement } from './analysis-measurement.js';
import type { Store } from '../store/store.js';
import type { InstanceSupervisor } from './instance-supervisor.js';

/** What `cutover status` shows: the status block of the seeds' scripts, as data. */
export interface InstanceStatus {
  id: string;
  slot: string;
  index: number;
  /** Where the proxy dials it: loopback, or on a multi-node swarm the address of the task's node. */
  host: string;
  port: number;
  pid: number | null;
  health: HealthStatus;
  lastCheck: string | null;
  restarts: number;
  /** The cluster node it runs on (Swarm, Kubernetes); null on one machine. */
  node: string | null;
}

export interface SlotStatus {
  releaseId: string;
  version: string;
  slot: string;
  state: string;
  since: number | null;
  scaleDownAt: number | null;
  instances: InstanceStatus[];
  /** "2/2": healthy instances / the instances the release should run (a canary's `canary_instances`). */
  running: string;
  traffic: { requests: number; errors5xx: number; proxyErrors: number } | null;
}

export interface ServiceStatus {
  service: string;
  hosts: string[];
  default: boolean;
  /** `deploy --all` updates critical services last, one at a time. */
  critical: boolean;
  strategy: string;
  active: SlotStatus | null;
  standby: SlotStatus | null;
  /** The release a running deploy started that gets no traffic yet (blue-green up to its switch, `ready`). */
  incoming: SlotStatus | null;
  /** During a canary rollout: the canary release, its weight and step. */
  canary: (SlotStatus & { weight: number; step: number; steps: number; phase: string; pausedBy: string | null }) | null;
  operation: {
    id: string;
    kind: string;
    phase: string;
    releaseId: string | null;
    startedAt: number;
    actor: string;
  } | null;
  lock: LockRecord | null;
  /** Set while the service is in maintenance (`cutover maintenance on`). */
  maintenance: MaintenanceRecord | null;
  /** The latest analysis measurements of the running (or last) operation. */
  analysis: AnalysisMeasurement[];
  recent: {
    id: string;
    kind: string;
    from: string | null;
    to: string | null;
    outcome: string | null;
    startedAt: number;
    durationMs: number | null;
    actor: string;
    error: string | null;
  }[];
}

function slotStatus(
  ctx: StatusSources,
  service: ServiceConfig,
  release: ReleaseRecord,
  counters: ReleaseCounters[],
  expected: number = service.instances,
): SlotStatus {
  const instances = ctx.supervisor.instancesOf(release.id).map(({ info, status, last, restarts }) => ({
    id: info.id,
    slot: info.slot,
    index: info.index,
    host: info.host,
    port: info.port,
    pid: info.pid,
    health: status,
    lastCheck: last?.detail ?? null,
    restarts,
    node: info.node ?? null,
  }));
  const c = counters.find((x) => x.releaseId === release.id);
  return {
    releaseId: release.id,
    version: release.version,
    slot: release.slot,
    state: release.state,
    since: release.activatedAt,
    scaleDownAt: release.scaleDownAt,
    instances,
    running: `${instances.filter((i) => i.health === 'healthy').length}/${expected}`,
    traffic: c ? { requests: c.requests, errors5xx: c.status['5xx'], proxyErrors: c.status.error } : null,
  };
}

/** The new release of a running deploy, while it is none of the active, standby and canary releases. */
function incomingRelease(
  ctx: StatusSources,
  service: ServiceConfig,
  operation: OperationRecord | null,
  shown: (string | null | undefined)[],
  counters: ReleaseCounters[],
): SlotStatus | null {
  if (operation?.kind !== 'deploy' || operation.releaseId === null || shown.includes(operation.releaseId)) return null;
  const release = ctx.store.getRelease(operation.releaseId);
  if (!release || ctx.supervisor.instancesOf(release.id).length === 0) return null;
  return slotStatus(ctx, service, release, counters);
}

/** What the status reads: releases and operations, instances' health, the router's counters. */
export interface StatusSources {
  store: Store;
  supervisor: InstanceSupervisor;
  router: Router;
}

export interface ServiceHistory {
  service: string;
  releases: ReleaseRecord[];
  operations: OperationRecord[];
  analysis: AnalysisMeasurement[];
}

/** `cutover history`: the releases, the last operations and the analysis measurements of a service. */
export function serviceHistory(store: Store, name: string): ServiceHistory {
  return {
    service: name,
    releases: store.listReleases(name),
    operations: store.listOperations(name, 100),
    analysis: store.eventsOfType(name, 'analysis.measurement').map(toMeasurement),
  };
}

export function serviceStatus(
  ctx: StatusSources,
  service: ServiceConfig,
  running: { phase: string } | null,
  canary: CanaryState | null = null,
): ServiceStatus {
  const { store } = ctx;
  const releases = store.listReleases(service.name, 50);
  const activeId = store.getService(service.name).activeReleaseId;
  const active = releases.find((r) => r.id === activeId) ?? (activeId ? store.getRelease(activeId) : null);
  const standby = releases.find((r) => r.state === 'standby') ?? null;
  const counters = ctx.router.counters();
  const lock = store.getLock(service.name);
  const current = lock ? store.getOperation(lock.operationId) : null;
  const versionOf = (id: string | null): string | null => (id ? (store.getRelease(id)?.version ?? id) : null);
  return {
    service: service.name,
    hosts: service.hosts,
    default: service.default,
    critical: service.critical,
    strategy: service.strategy.type,
    active: active ? slotStatus(ctx, service, active, counters) : null,
    standby: standby ? slotStatus(ctx, service, standby, counters) : null,
    incoming: incomingRelease(ctx, service, current, [active?.id, standby?.id, canary?.releaseId], counters),
    canary:
      canary && !canary.promoted && store.getRelease(canary.releaseId)
        ? {
            ...slotStatus(
              ctx,
              service,
              store.getRelease(canary.releaseId)!,
              counters,
              canaryInstanceCount(service, canary),
            ),
            weight: canary.weight,
            step: canary.stepIndex + 1,
            steps: canary.steps.length,
            phase: canary.phase,
            pausedBy: canary.pausedBy,
          }
        : null,
    operation: current
      ? {
          id: current.id,
          kind: current.kind,
          phase: running?.phase ?? canary?.phase ?? current.phase,
          releaseId: current.releaseId,
          startedAt: current.startedAt,
          actor: current.actor,
        }
      : null,
    lock,
    maintenance: store.getMaintenance(service.name),
    analysis: (() => {
      const opId = current?.id ?? store.listOperations(service.name, 1)[0]?.id;
      return opId
        ? store
            .eventsOf(opId)
            .filter((e) => e.type === 'analysis.measurement')
            .slice(-10)
            .map(toMeasurement)
        : [];
    })(),
    recent: store.listOperations(service.name, 5).map((op) => ({
      id: op.id,
      kind: op.kind,
      from: versionOf(op.fromReleaseId),
      to: versionOf(op.releaseId),
      outcome: op.outcome,
      startedAt: op.startedAt,
      durationMs: op.finishedAt === null ? null : op.finishedAt - op.startedAt,
      actor: op.actor,
      error: op.error?.message ?? null,
    })),
  };
}

/**
 * How many instances a canary release runs before promotion: `canary_instances`
 * when there is a stable release beside it (canary-runner.ts starts that
 * many, and grows it to `instances` only to take all the traffic), else the
 * full count (a first release has nobody to share with).
 */
function canaryInstanceCount(service: ServiceConfig, canary: CanaryState): number {
  return service.strategy.type === 'canary' && canary.stableReleaseId !== null
    ? service.strategy.canaryInstances
    : service.instances;
}
