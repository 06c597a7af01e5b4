import type { Slot } from '../core/slot.js';

/**
 * The runtime port: starts, stops and finds instances of a release.
 * Strategies and the controller only see this interface; `process/` is the
 * embedded default, Docker and Swarm adapters come later.
 */
export interface InstanceSpec {
  service: string;
  releaseId: string;
  version: string;
  slot: Slot;
  /** 0-based index of the instance inside its release. */
  index: number;
  /**
   * Raw command from the config. The process runtime splits it into words, substitutes
   * ${VERSION} ${PORT} ${SLOT} ${INSTANCE} ${HOST} inside them and runs it without a shell;
   * with `shell`, /bin/sh runs it unchanged and the values are in its environment.
   */
  command: string;
  /** Process runtime: run `command` through /bin/sh (`shell: true` in the config). Default false. */
  shell?: boolean;
  /** Process runtime: names taken from the server's environment (`inherit_env`); see child-environment.ts. */
  inheritEnv?: readonly string[];
  cwd: string;
  /** Raw env from the config; placeholders substituted like the command. PORT is always set. */
  env: Record<string, string>;
  stopGracePeriodMs: number;
}

export interface InstanceInfo {
  /** Stable id, `${service}/${releaseId}/${slot}-${index}`. */
  id: string;
  service: string;
  releaseId: string;
  version: string;
  slot: Slot;
  index: number;
  host: string;
  port: number;
  pid: number | null;
  /** Opaque token that proves a pid is still the process we started (guards against pid reuse). */
  pidToken: string | null;
  logPath: string;
  startedAt: number;
  /** The cluster node it runs on (a Swarm node's hostname, a Kubernetes node's name); absent on one machine. */
  node?: string;
}

export interface InstanceExit {
  instance: InstanceInfo;
  code: number | null;
  signal: string | null;
  /** True when cutover asked it to stop; false for a crash. */
  expected: boolean;
}

export type RuntimeListener = (exit: InstanceExit) => void;

export interface Runtime {
  readonly kind: string;
  /** Starts one instance and resolves once it is spawned (not yet healthy). Throws INSTANCE_START_FAILED. */
  start(spec: InstanceSpec): Promise<InstanceInfo>;
  /** SIGTERM, then SIGKILL after the grace period. Resolves when the instance is gone. Unknown ids resolve at once. */
  stop(instanceId: string, gracePeriodMs?: number): Promise<void>;
  /** Instances this runtime currently manages (started or adopted). */
  list(): InstanceInfo[];
  /**
   * After a controller restart: take back instances recorded in the store whose
   * process is still alive (and is the one we started). Returns the adopted ones.
   */
  adopt(records: InstanceInfo[]): Promise<InstanceInfo[]>;
  /** Called for every instance that exits, expected or not. */
  onExit(listener: RuntimeListener): void;
  /** Last lines of an instance's log, for error messages. */
  tailLog(instanceId: string, lines: number): Promise<string>;
  /** Stops every instance: the deliberate full stop (`cutover down`, a test's teardown). */
  close(): Promise<void>;
  /**
   * Lets go of every instance without stopping it: the controller stops (SIGTERM, an upgrade) and the
   * instances serve on; a runtime started later takes them back with `adopt`. No exit is reported after it.
   */
  detach(): Promise<void>;
  /**
   * Optional: the instance's own health as its runtime judges it (Docker's
   * HEALTHCHECK); null when it has none. The health gate requires `healthy`
   * from it on top of the configured check.
   */
  containerHealth?(instanceId: string): Promise<'starting' | 'healthy' | 'unhealthy' | null>;
  /**
   * Optional: why containerHealth is not `healthy`, in the orchestrator's words (Kubernetes: the pod's
   * readiness-probe failure), for the health check's detail; null to say the HEALTHCHECK's status.
   */
  healthReason?(instanceId: string): string | null;
  /**
   * Optional: true when the runtime's orchestrator replaces an unhealthy
   * instance itself (Swarm: the image's HEALTHCHECK and its restart policy).
   * The supervisor then leaves liveness restarts (`health.restart_after`) to
   * it: a stop from cutover would be a service update of its own, which
   * collides with the orchestrator's (a Swarm rolling update never finished).
   */
  replacesUnhealthyInstances?(instanceId: string): boolean;
  /**
   * Optional: the orchestrator's own rolling update of a service's instances
   * (Swarm's `docker service update`), null when this runtime has none for
   * that service. The controller then drives `strategy: rolling` by following
   * the orchestrator instead of replacing instances itself.
   */
  nativeRollingUpdates?(service: string): NativeRollingUpdates | null;
}

/** How the orchestrator replaces instances: the rolling strategy's settings, in its own words. */
export interface NativeRollingSettings {
  parallelism: number;
  order: 'start-first' | 'stop-first';
  delayMs: number;
  monitorMs: number;
  failureAction: 'rollback' | 'pause' | 'continue';
  maxFailureRatio: number;
  /** The strategy's timeout per batch (Kubernetes: the Deployment's progress deadline). */
  deployTimeoutMs?: number;
}

/** The release the instances are updated to. */
export type NativeUpdateTarget = Pick<
  InstanceSpec,
  'service' | 'releaseId' | 'version' | 'slot' | 'command' | 'env' | 'stopGracePeriodMs'
>;

/** One running task of either generation during a native update. */
export interface NativeUpdateTask {
  id: string;
  slot: number;
  version: string | null;
  host: string;
  port: number;
  /** Its port accepted a connection (a task the orchestrator calls running may not listen yet): only these get traffic. */
  answers: boolean;
}

export interface NativeUpdateProgress {
  /** The orchestrator's state: updating, paused, completed, rollback_started, rollback_paused, rollback_completed; null before one. */
  state: string | null;
  message: string | null;
  /** Running tasks of both generations, each on its own port. */
  tasks: NativeUpdateTask[];
  /** What goes wrong with the new release's tasks (a failed task, a failing HEALTHCHECK): the orchestrator forgets them as it replaces tasks. */
  problems: string[];
}

/**
 * An orchestrator's rolling update, keyed by the release whose instances it
 * replaces. `finish` hands the instances over: after `completed` the runtime
 * runs the new release (start() of its instances finds them), after
 * `rolled-back` the old release's instances are bound to what the orchestrator
 * put back.
 */
/** Who runs a native update, in its own words: for messages, event types and the error of its rollback. */
export interface NativeOrchestrator {
  /** "Swarm", "Kubernetes". */
  name: string;
  /** The prefix of the update's events and of the operation's phase: "swarm" gives swarm.update-started and swarm-updating. */
  key: string;
  /** What it updates: "service", "Deployment". */
  object: string;
  /** What it calls an instance: "task", "pod". */
  unit: string;
  rolledBackCode: 'SWARM_ROLLED_BACK' | 'KUBERNETES_ROLLED_BACK';
  /** How a user puts the object back on one release by hand after a rollback that stalled. */
  undoHint(objectName: string): string;
}

export interface NativeRollingUpdates {
  readonly orchestrator: NativeOrchestrator;
  /** Starts the update; resolves with the orchestrator's name for what it updates and the settings it was given, in its terms. */
  start(
    fromReleaseId: string,
    to: NativeUpdateTarget,
    settings: NativeRollingSettings,
  ): Promise<{ name: string; settings: unknown }>;
  progress(fromReleaseId: string): Promise<NativeUpdateProgress>;
  rollback(fromReleaseId: string): Promise<void>;
  finish(fromReleaseId: string, outcome: 'completed' | 'rolled-back', toReleaseId: string): Promise<void>;
}
