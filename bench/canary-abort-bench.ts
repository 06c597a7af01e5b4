/**
 * How fast a bad canary is pulled back: the time from the first failed
 * response of a canary that fails 20% of its requests to the moment its
 * weight is 0, judged by the builtin error-rate analysis (interval 250 ms).
 * Runs ROUNDS canaries under 200 req/s and prints each figure and the median.
 *
 *   npm run build && node dist/bench/canary-abort-bench.js      (CANARY_ROUNDS=5 by default)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { SteadyTraffic } from '../examples/demo/steady-traffic.js';
import { AdminClient } from '../src/cli/admin-client.js';
import { parseConfig } from '../src/config/load-config.js';
import { findFreePort } from '../src/runtime/process/free-port.js';
import { startServer } from '../src/server/start-server.js';
import type { EventRecord, OperationRecord } from '../src/store/records.js';

const SAMPLE_APP = fileURLToPath(new URL('../../examples/sample-app/', import.meta.url));
const ROUNDS = Number(process.env.CANARY_ROUNDS ?? 5);

async function follow(
  client: AdminClient,
  path: string,
  body: object,
): Promise<{ operation: OperationRecord; events: EventRecord[] }> {
  const { operation } = await client.request<{ operation: OperationRecord }>('POST', path, { ...body, actor: 'bench' });
  for (;;) {
    const answer = await client.request<{ operation: OperationRecord; events: EventRecord[] }>(
      'GET',
      `/api/v1/operations/${operation.id}`,
    );
    if (answer.operation.outcome) return answer;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-canary-bench-'));
  const yaml = `server:
  proxy: 127.0.0.1:${await findFreePort()}
  admin: 127.0.0.1:${await findFreePort()}
  state_dir: ${path.join(dir, 'state')}
services:
  shop:
    hosts: [shop.localhost]
    default: true
    command: node server.js
    cwd: ${SAMPLE_APP}
    env: { APP_VERSION: "\${VERSION}" }
    instances: 2
    health: { path: /health, interval: 200ms }
    strategy:
      type: canary
      steps: [ { weight: 10, pause: 30s }, { weight: 100 } ]
      canary_instances: 1
      stickiness: { by: header, name: X-User-Id }
      analysis: [errors]
      timeout: 10s
    drain_timeout: 2s
analysis:
  errors:
    metrics:
      - name: error-rate
        provider: { builtin: error-rate }
        interval: 250ms
        failure_condition: result > 0.05
        consecutive_error_limit: 40
`;
  const config = parseConfig(yaml, path.join(dir, 'cutover.yaml'));
  const server = await startServer(config, { logger: pino({ level: 'silent' }), env: {} });
  const client = new AdminClient({ url: server.adminUrl, token: server.token });
  const figures: number[] = [];
  try {
    await follow(client, '/api/v1/services/shop/deploy', { version: 'v1' });
    for (let round = 1; round <= ROUNDS; round++) {
      const traffic = new SteadyTraffic({
        url: server.proxyUrl,
        host: 'shop.localhost',
        ratePerSecond: 200,
        clientHeader: 'x-user-id',
        maxDurationMs: 60_000,
      }).start();
      await traffic.waitForAnswers(100);
      const done = await follow(client, '/api/v1/services/shop/deploy', { version: `v${round + 1}-errors20` });
      const summary = await traffic.stop();
      const zeroAt = done.events.find(
        (e) => e.type === 'canary.weight' && (e.data as { weight: number }).weight === 0,
      )?.at;
      if (done.operation.outcome !== 'failed' || zeroAt === undefined || summary.firstFailureAt === null) {
        throw new Error(`round ${round}: expected an automatic abort, got ${done.operation.outcome}`);
      }
      const ms = zeroAt - summary.firstFailureAt;
      figures.push(ms);
      process.stdout.write(
        `round ${round}: weight 0 ${ms} ms after the first bad response (${summary.failed} failed of ${summary.sent}, all from the canary: ${JSON.stringify(summary.failedByVersion)})\n`,
      );
    }
    const sorted = [...figures].sort((a, b) => a - b);
    process.stdout.write(
      `median ${sorted[Math.floor(sorted.length / 2)]} ms, min ${sorted[0]} ms, max ${sorted.at(-1)} ms over ${ROUNDS} rounds\n`,
    );
  } finally {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exitCode = 1;
});
