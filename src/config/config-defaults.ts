import type { ListenAddress } from './types.js';

/**
 * Every default of cutover.yaml in one place. The starter config written by
 * `cutover init` spells these out; a test checks that the two agree.
 */
export const CONFIG_DEFAULTS = {
  proxy: { host: '127.0.0.1', port: 8080 } satisfies ListenAddress,
  admin: { host: '127.0.0.1', port: 9900 } satisfies ListenAddress,
  /** Relative to the config file's directory. */
  stateDir: '.cutover',
  instances: 1,
  health: {
    path: '/health',
    expectStatus: [200, 399] as [number, number],
    intervalMs: 2_000,
    timeoutMs: 1_000,
    healthyThreshold: 1,
    unhealthyThreshold: 3,
    startPeriodMs: 0,
  },
  strategy: {
    autoSwitch: false,
    autoCleanup: false,
    scaleDownDelayMs: 10 * 60_000,
    deployTimeoutMs: 2 * 60_000,
  },
  smoke: { method: 'GET' as const, expectStatus: [200, 399] as [number, number], timeoutMs: 5_000 },
  drainTimeoutMs: 30_000,
  stopGracePeriodMs: 10_000,
  rollbackLimit: 5,
};

/** A service without `hosts` answers on `<name>.localhost`, which browsers and curl resolve to loopback. */
export function defaultHosts(serviceName: string): string[] {
  return [`${serviceName}.localhost`];
}
