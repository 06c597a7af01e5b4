import type { CanaryStepConfig, ListenAddress, StickinessConfig } from './types.js';

/**
 * Every default of cutover.yaml in one place. The starter config written by
 * `cutover init` spells these out; a test checks that the two agree.
 */
export const CONFIG_DEFAULTS = {
  /** What an inconclusive analysis does, in every strategy: wait for a person (as Argo Rollouts does). */
  onInconclusive: 'pause' as const,
  /** Blue-green pre_promotion window when not written. */
  prePromotionWindowMs: 30_000,
  proxy: { host: '127.0.0.1', port: 8080 } satisfies ListenAddress,
  admin: { host: '127.0.0.1', port: 9900 } satisfies ListenAddress,
  /** Relative to the config file's directory. */
  stateDir: '.cutover',
  /** Instance logs: 10 MiB, then rotated, with 3 old files (40 MiB per instance at most). */
  logs: { maxBytes: 10 * 1024 * 1024, keep: 3 },
  router: 'proxy' as 'proxy' | 'nginx' | 'haproxy',
  nginx: { binary: 'nginx', verifyTimeoutMs: 5_000 },
  haproxy: { binary: 'haproxy', threads: 1, verifyTimeoutMs: 10_000 },
  database: {
    lint: true,
    backupBeforeDeploy: true,
    backupsKept: 5,
    lockTimeoutMs: 5_000,
    statementTimeoutMs: 5 * 60_000,
    lockRetries: 3,
    waitForLockMs: 60_000,
    autoContract: true,
  },
  /** The first is the default environment of the flag routes and commands. */
  flagEnvironments: ['production', 'staging'],
  /** `flags.stale_after`: 30 days of one value for everyone, or of no evaluation, make a flag stale. */
  flagStaleAfterMs: 30 * 86_400_000,
  instances: 1,
  health: {
    path: '/health',
    expectStatus: [200, 399] as [number, number],
    intervalMs: 2_000,
    timeoutMs: 1_000,
    healthyThreshold: 1,
    unhealthyThreshold: 3,
    startPeriodMs: 0,
    /** Three more failed checks after leaving the rotation: a blip recovers in rotation, a dead app is restarted. */
    restartAfter: 3,
  },
  strategy: {
    autoSwitch: false,
    autoCleanup: false,
    scaleDownDelayMs: 10 * 60_000,
    deployTimeoutMs: 2 * 60_000,
  },
  smoke: { method: 'GET' as const, expectStatus: [200, 399] as [number, number], timeoutMs: 5_000 },
  canary: {
    /** 5% → 25% → 50%, 30 s each, then everything: a short, cautious default for a file that says only `strategy: canary`. */
    steps: [
      { weight: 5, pauseMs: 30_000, analysis: [] },
      { weight: 25, pauseMs: 30_000, analysis: [] },
      { weight: 50, pauseMs: 30_000, analysis: [] },
      { weight: 100, pauseMs: 0, analysis: [] },
    ] satisfies CanaryStepConfig[],
    /** A written step without `pause` moves on as soon as its counted analysis is done. */
    stepPauseMs: 0,
    stickiness: { by: 'cookie', name: 'cutover_canary' } satisfies StickinessConfig,
    postPromotionWindowMs: 5 * 60_000,
    scaleDownDelayMs: 10 * 60_000,
    deployTimeoutMs: 2 * 60_000,
    /**
     * After a controller crash the rollout carries on from its persisted step and
     * weight, as Argo Rollouts does: progress (and a person's promote) is not thrown
     * away, and the weight is never higher than it was.
     */
    onRestart: 'resume' as const,
  },
  rolling: {
    /** One instance at a time, started before the old one stops: no capacity is lost. */
    parallelism: 1,
    order: 'start-first' as const,
    delayMs: 0,
    monitorMs: 5_000,
    failureAction: 'rollback' as const,
    /** The first failed instance applies failure_action. */
    maxFailureRatio: 0,
    deployTimeoutMs: 2 * 60_000,
  },
  recreate: {
    deployTimeoutMs: 2 * 60_000,
  },
  analysis: {
    intervalMs: 10_000,
    initialDelayMs: 0,
    failureLimit: 0,
    inconclusiveLimit: 0,
    consecutiveErrorLimit: 4,
    /** Prometheus and web requests. */
    requestTimeoutMs: 5_000,
    commandTimeoutMs: 30_000,
    /** Each request of a template's synthetic `load`. */
    loadTimeoutMs: 5_000,
    webMethod: 'GET' as const,
    /** The whole JSON response. */
    jsonPath: '$',
  },
  notifications: {
    /** Per request; also how long a stopping server waits for its queues to empty. */
    timeoutMs: 5_000,
    retries: 3,
    /** Before the first retry; doubles for each one after. */
    backoffMs: 1_000,
    queueLimit: 100,
  },
  /** `runtime: docker`: use a local image when the daemon has it; share the host's network on loopback. */
  docker: { pull: 'if-missing' as const, network: 'host' as const },
  /** Pods on the cluster's pod network answer on one container port, the same for every pod. */
  kubernetes: { network: 'pod' as const, containerPort: 8080 },
  /** The embedded proxy: nobody's forwarding headers are believed; a slow head is cut after 10 s. */
  trustedProxies: [] as string[],
  maxConnections: 10_000,
  clientTimeouts: { headersMs: 10_000, requestMs: 5 * 60_000, keepAliveMs: 65_000 },
  traffic: {
    connectTimeoutMs: 5_000,
    responseHeadersTimeoutMs: 60_000,
    idleTimeoutMs: 60_000,
    connectionsPerInstance: 128,
    pendingPerInstance: 128,
    passiveHealth: { consecutiveFailures: 5, ejectionMs: 30_000, maxEjectionMs: 5 * 60_000 },
  },
  drainTimeoutMs: 30_000,
  stopGracePeriodMs: 10_000,
  rollbackLimit: 5,
  critical: false,
};

/** A service without `hosts` answers on `<name>.localhost`, which browsers and curl resolve to loopback. */
export function defaultHosts(serviceName: string): string[] {
  return [`${serviceName}.localhost`];
}
