import type { Clock } from '../../src/core/clock.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { parseConfig } from '../../src/config/load-config.js';
import { AdminClient } from '../../src/cli/admin-client.js';
import { findFreePort } from '../../src/runtime/process/free-port.js';
import { startServer, type RunningServer } from '../../src/server/start-server.js';

/** The repository root, from dist/test/support/. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const SAMPLE_APP = path.join(REPO_ROOT, 'examples', 'sample-app');
export const CLI = path.join(REPO_ROOT, 'bin', 'cutover.js');

export interface HarnessOptions {
  instances?: number;
  /** YAML for the strategy key, e.g. "{ type: blue-green, timeout: 5s }". */
  strategy?: string;
  drainTimeout?: string;
  healthInterval?: string;
  /** health.restart_after of the web service (default: cutover's own default). */
  restartAfter?: string;
  extraServiceYaml?: string;
  /** Top-level YAML appended after the services (e.g. an `analysis:` section). */
  topLevelYaml?: string;
  /** More keys of the server section, indented two spaces (e.g. `router: nginx` and its `nginx:` map). */
  serverYaml?: string;
  /** The flag feature's clock (scheduled changes, stale flags), kept across restart(). */
  clock?: Clock;
}

export interface Harness {
  dir: string;
  configFile: string;
  server: RunningServer;
  client: AdminClient;
  proxyUrl: string;
  proxyPort: number;
  adminPort: number;
  /** Restart the server on the same state directory (after close() or a crash). */
  restart(): Promise<RunningServer>;
  close(): Promise<void>;
}

export async function configYaml(
  dir: string,
  options: HarnessOptions,
  ports: { proxy: number; admin: number },
): Promise<string> {
  return `server:
  proxy: 127.0.0.1:${ports.proxy}
  admin: 127.0.0.1:${ports.admin}
  state_dir: ${path.join(dir, 'state')}
${workersYaml(options.serverYaml)}${options.serverYaml ?? ''}services:
  web:
    hosts: [web.localhost]
    default: true
    runtime: process
    command: node server.js
    cwd: ${SAMPLE_APP}
    env: { APP_VERSION: "\${VERSION}", API_TOKEN: "s3cret-value" }
    instances: ${options.instances ?? 2}
    health: { path: /health, interval: ${options.healthInterval ?? '200ms'}, timeout: 1s, healthy_threshold: 1, unhealthy_threshold: 2, start_period: 5s${options.restartAfter !== undefined ? `, restart_after: ${options.restartAfter}` : ''} }
    strategy: ${options.strategy ?? '{ type: blue-green, auto_switch: false, timeout: 20s }'}
    drain_timeout: ${options.drainTimeout ?? '10s'}
    stop_grace_period: 3s
${options.extraServiceYaml ?? ''}${options.topLevelYaml ?? ''}`;
}

/**
 * One proxy process unless the test asks for workers: what these tests check does not depend on how many
 * processes accept, and a worker per server start adds CPU the whole suite pays for. The default (auto) is
 * what the CLI tests, proxy-workers.test.ts and the Router contract run.
 */
function workersYaml(serverYaml: string | undefined): string {
  return serverYaml?.includes('proxy_workers') === true ? '' : '  proxy_workers: 1\n';
}

export const silentLogger = pino({ level: 'silent' });

/**
 * The `errors` analysis template most deploy tests use (under `analysis:`): the builtin error rate every
 * `interval`, failing above 5%, patient with windows that have no traffic yet.
 */
export function errorRateTemplateYaml(interval = '500ms'): string {
  return `  errors:
    metrics:
      - name: error-rate
        provider: { builtin: error-rate }
        interval: ${interval}
        failure_condition: result > 0.05
        consecutive_error_limit: 30
`;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-test-'));
  const proxyPort = await findFreePort();
  const adminPort = await findFreePort();
  const configFile = path.join(dir, 'cutover.yaml');
  fs.writeFileSync(configFile, await configYaml(dir, options, { proxy: proxyPort, admin: adminPort }));
  const config = parseConfig(fs.readFileSync(configFile, 'utf8'), configFile);
  const start = { logger: silentLogger, env: {}, ...(options.clock === undefined ? {} : { clock: options.clock }) };
  let server = await startServer(config, start);
  const harness: Harness = {
    dir,
    configFile,
    server,
    client: new AdminClient({ url: server.adminUrl, token: server.token }),
    proxyUrl: server.proxyUrl,
    proxyPort,
    adminPort,
    async restart() {
      server = await startServer(config, start);
      harness.server = server;
      return server;
    },
    async close() {
      await server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return harness;
}
