/**
 * The README's first command (`npm ci && npm start`): a real blue-green deploy
 * under live traffic on the embedded default, then a rollback, then a summary.
 *
 *   1. start cutover (proxy + controller + admin API) on free loopback ports;
 *   2. deploy the sample service v1 (2 instances) and send ~200 requests/s
 *      through the proxy over kept-alive connections for the whole run;
 *   3. deploy v2 to the idle slot: start, health-check, switch, drain;
 *   4. roll back to v1 (instant: its slot is still running);
 *   5. print requests sent / failed and how long the switch and rollback took.
 * Exits 1 if a single request failed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { AdminClient } from '../../src/cli/admin-client.js';
import { followOperation } from '../../src/cli/follow-operation.js';
import { bold, green, red } from '../../src/cli/output.js';
import { parseConfig } from '../../src/config/load-config.js';
import { findFreePort } from '../../src/runtime/process/free-port.js';
import { startServer } from '../../src/server/start-server.js';
import type { EventRecord, OperationRecord } from '../../src/store/records.js';
import { SteadyTraffic } from './steady-traffic.js';

const SAMPLE_APP = fileURLToPath(new URL('../../../examples/sample-app/', import.meta.url));
const RATE = Number(process.env.DEMO_RATE ?? 200);

function say(text: string): void {
  process.stdout.write(`\n${bold('==>')} ${bold(text)}\n`);
}

async function run(
  client: AdminClient,
  path: string,
  body: object,
): Promise<{ op: OperationRecord; events: EventRecord[]; ms: number }> {
  const started = Date.now();
  const { operation } = await client.request<{ operation: OperationRecord }>('POST', path, { ...body, actor: 'demo' });
  const result = await followOperation(client, operation, { quiet: false });
  if (result.operation.outcome !== 'succeeded')
    throw new Error(`${operation.kind} ${result.operation.outcome}: ${result.operation.error?.message}`);
  return { op: result.operation, events: result.events, ms: Date.now() - started };
}

async function main(): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-demo-'));
  const [proxyPort, adminPort] = [await findFreePort(), await findFreePort()];
  const yaml = `server:
  proxy: 127.0.0.1:${proxyPort}
  admin: 127.0.0.1:${adminPort}
  state_dir: ${path.join(dir, 'state')}
services:
  web:
    hosts: [web.localhost]
    default: true
    runtime: process
    command: node server.js
    cwd: ${SAMPLE_APP}
    env: { APP_VERSION: "\${VERSION}" }
    instances: 2
    health: { path: /health, interval: 250ms, timeout: 1s, healthy_threshold: 1, start_period: 10s }
    strategy: { type: blue-green, auto_switch: true, scale_down_delay: 5m }
    drain_timeout: 10s
`;
  fs.writeFileSync(path.join(dir, 'cutover.yaml'), yaml);
  const config = parseConfig(yaml, path.join(dir, 'cutover.yaml'));
  const logger = pino({ level: 'info' }, pino.destination(path.join(dir, 'server.log')));
  say(`starting cutover: proxy ${proxyPort}, admin API ${adminPort} (state and logs in ${dir})`);
  const server = await startServer(config, { logger, env: {} });
  const client = new AdminClient({ url: server.adminUrl, token: server.token });
  let traffic: SteadyTraffic | null = null;
  try {
    say('deploy web v1');
    await run(client, '/api/v1/services/web/deploy', { version: 'v1' });

    say(`steady traffic: ${RATE} requests/s through the proxy on kept-alive connections`);
    traffic = new SteadyTraffic({
      url: server.proxyUrl,
      host: 'web.localhost',
      ratePerSecond: RATE,
      maxDurationMs: 120_000,
    }).start();
    await traffic.waitForAnswers(RATE);

    say('blue-green deploy web v1 → v2 under load');
    const deploy = await run(client, '/api/v1/services/web/deploy', { version: 'v2' });
    const switchedAt = deploy.events.find((e) => e.type === 'traffic.switched')?.at ?? Date.now();
    await traffic.waitForAnswers(RATE);
    const v1LastAfterSwitch = (traffic.summary.lastAnswerAt.v1 ?? switchedAt) - switchedAt;

    say('rollback web to v1 (its slot is still running: instant)');
    const rollback = await run(client, '/api/v1/services/web/rollback', {});
    await traffic.waitForAnswers(RATE);
    const summary = await traffic.stop();
    traffic = null;

    const ok = summary.failed === 0 && summary.connectionErrors === 0;
    say('summary');
    process.stdout.write(
      `answers by version: ${Object.entries(summary.byVersion)
        .map(([v, n]) => `${v}=${n}`)
        .join(' ')}\n` +
        `deploy v1 → v2 took ${(deploy.ms / 1000).toFixed(1)} s (start, health checks, switch); ` +
        `last v1 answer ${Math.max(0, v1LastAfterSwitch)} ms after the switch (in-flight requests drained)\n` +
        `rollback took ${rollback.ms} ms\n`,
    );
    if (!ok) process.stdout.write(red(`first errors: ${summary.firstErrors.join(' | ')}\n`));
    const healthyAt = deploy.events.find((e) => e.type === 'release.healthy')?.at ?? switchedAt;
    const line =
      `requests sent: ${summary.sent}, failed: ${summary.failed}, connection errors: ${summary.connectionErrors}; ` +
      `deploy v1 → v2 ${(deploy.ms / 1000).toFixed(1)} s (switch ${switchedAt - healthyAt} ms after health passed); rollback ${rollback.ms} ms`;
    process.stdout.write(`${ok ? green('PASS') : red('FAIL')} ${line}\n`);
    return ok ? 0 : 1;
  } finally {
    if (traffic) await traffic.stop();
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`${red('demo failed:')} ${(error as Error).message}\n`);
    process.exitCode = 1;
  },
);
