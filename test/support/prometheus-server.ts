import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFreePort } from '../../src/runtime/process/free-port.js';

/**
 * A real Prometheus (the Debian package's /usr/bin/prometheus, or
 * PROMETHEUS_BIN) on a loopback port, with a throwaway config and data
 * directory, for the tests of the prometheus metric provider. It evaluates
 * and scrapes every second; stop() ends it (SIGTERM, SIGKILL after 5 s) and
 * removes its directory.
 */
export const PROMETHEUS_BIN = process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus';

export interface PrometheusOptions {
  /** Entries of `scrape_configs` (written as JSON, which is YAML), like { job_name, static_configs, authorization }. */
  scrapeConfigs: object[];
  /** The port to listen on (127.0.0.1); a free one when absent. Pass one when the URL must be known before the start. */
  port?: number;
  /**
   * Basic auth on Prometheus' own web API (`--web.config.file`), as a managed or exposed Prometheus has:
   * one user, with the bcrypt hash Prometheus checks and the password the readiness probe sends.
   */
  basicAuth?: { user: string; password: string; bcryptHash: string };
}

export interface PrometheusServer {
  url: string;
  port: number;
  /** The last 20,000 characters Prometheus wrote to stdout and stderr. */
  output(): string;
  /** Polls `probe` every 200 ms until it returns a value other than null (a throw counts as null); the error quotes Prometheus' output. */
  waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | null>): Promise<T>;
  stop(): Promise<void>;
}

export async function startPrometheus(options: PrometheusOptions): Promise<PrometheusServer> {
  assert.ok(
    existsSync(PROMETHEUS_BIN),
    `${PROMETHEUS_BIN} is missing: install the Debian package prometheus (apt-get install -y prometheus) or set PROMETHEUS_BIN`,
  );
  const dir = await mkdtemp(join(tmpdir(), 'cutover-prometheus-'));
  const config = {
    global: { scrape_interval: '1s', evaluation_interval: '1s' },
    scrape_configs: options.scrapeConfigs,
  };
  await writeFile(join(dir, 'prometheus.yml'), `${JSON.stringify(config, null, 2)}\n`);
  const port = options.port ?? (await findFreePort());
  const url = `http://127.0.0.1:${port}`;
  const webArguments: string[] = [];
  const readyHeaders: Record<string, string> = {};
  if (options.basicAuth) {
    const { user, password, bcryptHash } = options.basicAuth;
    await writeFile(join(dir, 'web.yml'), `${JSON.stringify({ basic_auth_users: { [user]: bcryptHash } })}\n`);
    webArguments.push(`--web.config.file=${join(dir, 'web.yml')}`);
    readyHeaders.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  }
  const child = spawn(
    PROMETHEUS_BIN,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      ...webArguments,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);

  let stopping: Promise<void> | null = null;
  const server: PrometheusServer = {
    url,
    port,
    output: () => output,
    async waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | null>): Promise<T> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const value = await probe().catch(() => null);
        if (value !== null) return value;
        if (child.exitCode !== null || child.signalCode !== null)
          throw new Error(
            `${what}: prometheus exited (${child.exitCode ?? child.signalCode}); it said:\n${output.slice(-2000)}`,
          );
        if (Date.now() > deadline)
          throw new Error(`${what} within ${timeoutMs} ms; prometheus said:\n${output.slice(-2000)}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    },
    stop() {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          const exited = once(child, 'exit');
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(timer);
        }
        await rm(dir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
  try {
    await server.waitFor('prometheus was not ready', 15_000, async () =>
      (await fetch(`${url}/-/ready`, { headers: readyHeaders })).ok ? true : null,
    );
  } catch (error) {
    await server.stop();
    throw error;
  }
  return server;
}
