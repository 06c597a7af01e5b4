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
  /** Stops every instance (used when the server shuts down: no orphans). */
  close(): Promise<void>;
  /**
   * Optional: the instance's own health as its runtime judges it (Docker's
   * HEALTHCHECK); null when it has none. The health gate requires `healthy`
   * from it on top of the configured check.
   */
  containerHealth?(instanceId: string): Promise<'starting' | 'healthy' | 'unhealthy' | null>;
  /**
   * Optional: true when the runtime's orchestrator replaces an unhealthy
   * instance itself (Swarm: the image's HEALTHCHECK and its restart policy).
   * The supervisor then leaves liveness restarts (`health.restart_after`) to
   * it: a stop from cutover would be a service update of its own, which
   * collides with the orchestrator's (a Swarm rolling update never finished).
   */
  replacesUnhealthyInstances?(instanceId: string): boolean;
}
