/**
 * The resolved, defaulted configuration. `load-config.ts` turns cutover.yaml
 * into these objects once; nothing past the boundary re-checks raw input.
 * Durations are milliseconds, paths are absolute.
 */
export interface ListenAddress {
  host: string;
  port: number;
}

export interface ServerConfig {
  proxy: ListenAddress;
  admin: ListenAddress;
  /** Absolute path of the state directory (SQLite store, logs, admin token). */
  stateDir: string;
}

export interface HttpHealthCheck {
  type: 'http';
  path: string;
  /** Inclusive status range counted as healthy, default [200, 399]. */
  expectStatus: [number, number];
}

export interface TcpHealthCheck {
  type: 'tcp';
}

export interface CommandHealthCheck {
  type: 'command';
  /** Run through /bin/sh with PORT, HOST, VERSION, SLOT, INSTANCE set; exit 0 is healthy. */
  command: string;
}

export type HealthCheckKind = HttpHealthCheck | TcpHealthCheck | CommandHealthCheck;

export interface HealthConfig {
  check: HealthCheckKind;
  intervalMs: number;
  timeoutMs: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
  /** Failures during the start period do not count (Docker HEALTHCHECK semantics). */
  startPeriodMs: number;
}

export interface SmokeCheck {
  /** Path requested on each instance of the new release directly, bypassing the proxy. */
  path: string;
  method: 'GET' | 'HEAD' | 'POST';
  expectStatus: [number, number];
  timeoutMs: number;
}

export interface BlueGreenStrategyConfig {
  type: 'blue-green';
  autoSwitch: boolean;
  autoCleanup: boolean;
  /** How long the old slot keeps running after a switch, for an instant rollback. */
  scaleDownDelayMs: number;
  /** Maximum time from the deploy request until every new instance is healthy. */
  deployTimeoutMs: number;
  smoke: SmokeCheck[];
}

export type StrategyConfig = BlueGreenStrategyConfig;

export interface ServiceConfig {
  name: string;
  hosts: string[];
  /** Requests for a host no service claims go to the default service. */
  default: boolean;
  runtime: 'process';
  /** Command line, run through /bin/sh; ${VERSION} ${PORT} ${SLOT} ${INSTANCE} are substituted at start. */
  command: string;
  cwd: string;
  env: Record<string, string>;
  /** Env keys whose values are redacted in snapshots, logs and API answers (besides the built-in patterns). */
  secrets: string[];
  instances: number;
  health: HealthConfig;
  strategy: StrategyConfig;
  drainTimeoutMs: number;
  stopGracePeriodMs: number;
  /** Releases kept for `rollback --to`, newest first. */
  rollbackLimit: number;
}

export interface CutoverConfig {
  /** Absolute path of the file this was loaded from, or null when built in code. */
  file: string | null;
  server: ServerConfig;
  services: Record<string, ServiceConfig>;
}
