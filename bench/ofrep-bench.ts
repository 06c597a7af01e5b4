/**
 * OFREP: how fast the flag server answers a bulk evaluation of 20 flags
 * (POST /ofrep/v1/evaluate/flags), next to the Node SDK evaluating the same
 * 20 flags locally.
 *
 *   npm run build && node dist/bench/ofrep-bench.js     (OFREP_BENCH_SECONDS=5, OFREP_BENCH_CONNECTIONS=8)
 *
 * A real cutover server in this process on free loopback ports; the load
 * runs in a worker thread (ofrep-load-worker.ts) over keep-alive connections,
 * a new user per request (200s), then one user revalidating with
 * If-None-Match (304s). The SDK case is a FlagClient over the stream,
 * evaluating all 20 flags per user, in this thread with the server idle.
 * Raw figures go to bench/results/ofrep-latest.json (git-ignored).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import pino from 'pino';
import { parseConfig } from '../src/config/load-config.js';
import { findFreePort } from '../src/runtime/process/free-port.js';
import { startServer, type RunningServer } from '../src/server/start-server.js';
import { FlagClient } from '../src/sdk/flags/index.js';

const SAMPLE_APP = fileURLToPath(new URL('../../examples/sample-app/', import.meta.url));
const RESULTS = fileURLToPath(new URL('../../bench/results/ofrep-latest.json', import.meta.url));
const SECONDS = Number(process.env.OFREP_BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.OFREP_BENCH_CONNECTIONS ?? 8);
const FLAG_COUNT = 20;

/** 20 flags: a third plain, a third 50 % rollouts, a third with three targeting rules the user mostly misses. */
function benchFlag(index: number): Record<string, unknown> {
  const key = `bench-${String(index).padStart(2, '0')}`;
  const base = { key, enabled: true, variants: { on: true, off: false }, defaultVariant: 'off', offVariant: 'off' };
  if (index % 3 === 0) return { ...base, defaultVariant: 'on' };
  if (index % 3 === 1) return { ...base, rollout: { percentage: 50, stickiness: 'userId', variant: 'on' } };
  return {
    ...base,
    rules: [
      { constraints: [{ operator: 'ends_with', attribute: 'email', value: '@example.com' }], variant: 'on' },
      { constraints: [{ operator: 'in', attribute: 'plan', values: ['beta', 'internal'] }], variant: 'on' },
      { constraints: [{ operator: 'equals', attribute: 'country', value: 'DE' }], variant: 'on' },
    ],
  };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

async function startBenchServer(dir: string): Promise<RunningServer> {
  const yaml = `server:
  proxy: 127.0.0.1:${await findFreePort()}
  admin: 127.0.0.1:${await findFreePort()}
  state_dir: ${path.join(dir, 'state')}
  proxy_workers: 1
services:
  web:
    hosts: [web.localhost]
    default: true
    runtime: process
    command: node server.js
    cwd: ${SAMPLE_APP}
    instances: 1
    health: { path: /health }
`;
  const file = path.join(dir, 'cutover.yaml');
  fs.writeFileSync(file, yaml);
  return startServer(parseConfig(yaml, file), { logger: pino({ level: 'silent' }), env: {} });
}

interface LoadResult {
  latencies: number[];
  elapsed: number;
  statuses: Record<string, number>;
}

function load(server: RunningServer, revalidate: boolean): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./ofrep-load-worker.js', import.meta.url), {
      workerData: {
        url: `${server.adminUrl}/ofrep/v1/evaluate/flags`,
        token: server.sdkToken,
        connections: CONNECTIONS,
        seconds: SECONDS,
        revalidate,
      },
    });
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

function summary(result: LoadResult) {
  return {
    requestsPerSecond: Math.round(result.latencies.length / result.elapsed),
    flagEvaluationsPerSecond: Math.round((result.latencies.length * FLAG_COUNT) / result.elapsed),
    p50Ms: Number(percentile(result.latencies, 0.5).toFixed(2)),
    p99Ms: Number(percentile(result.latencies, 0.99).toFixed(2)),
    requests: result.latencies.length,
    statuses: result.statuses,
  };
}

function sdkLocal(flags: FlagClient, keys: string[]) {
  const perUserNs: number[] = [];
  let sink = 0;
  const started = performance.now();
  let user = 0;
  while (performance.now() - started < SECONDS * 1000) {
    const context = { userId: `user-${user}`, country: 'DE', plan: 'free' };
    const t0 = process.hrtime.bigint();
    for (const key of keys) if (flags.evaluate(key, context).value === true) sink++;
    perUserNs.push(Number(process.hrtime.bigint() - t0));
    user++;
  }
  const elapsed = (performance.now() - started) / 1000;
  return {
    bulksPerSecond: Math.round(perUserNs.length / elapsed),
    flagEvaluationsPerSecond: Math.round((perUserNs.length * keys.length) / elapsed),
    p50Us: Number((percentile(perUserNs, 0.5) / 1000).toFixed(2)),
    p99Us: Number((percentile(perUserNs, 0.99) / 1000).toFixed(2)),
    sink,
  };
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-ofrep-bench-'));
  const server = await startBenchServer(dir);
  const flags = new FlagClient({ url: server.adminUrl, token: server.sdkToken, reportIntervalMs: 0 });
  try {
    const keys: string[] = [];
    for (let index = 0; index < FLAG_COUNT; index++) {
      const flag = benchFlag(index);
      keys.push(flag.key as string);
      const response = await fetch(`${server.adminUrl}/api/v1/flags`, {
        method: 'POST',
        headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ flag }),
      });
      if (response.status !== 201) throw new Error(`creating ${flag.key}: ${response.status}`);
    }
    await flags.ready();
    const fresh = summary(await load(server, false));
    const revalidated = summary(await load(server, true));
    const local = sdkLocal(flags, keys);
    const results = {
      at: new Date().toISOString(),
      cpus: os.cpus().length,
      seconds: SECONDS,
      connections: CONNECTIONS,
      flags: FLAG_COUNT,
      ofrepBulk: fresh,
      ofrepBulk304: revalidated,
      sdkLocal: local,
    };
    fs.mkdirSync(path.dirname(RESULTS), { recursive: true });
    fs.writeFileSync(RESULTS, JSON.stringify(results, null, 2));
    console.log(`OFREP bulk (20 flags), ${CONNECTIONS} connections, ${SECONDS} s per case`);
    console.log(
      `  200, a new user each: ${fresh.requestsPerSecond} req/s (${fresh.flagEvaluationsPerSecond} flag evaluations/s), p50 ${fresh.p50Ms} ms, p99 ${fresh.p99Ms} ms`,
    );
    console.log(
      `  304, If-None-Match:   ${revalidated.requestsPerSecond} req/s, p50 ${revalidated.p50Ms} ms, p99 ${revalidated.p99Ms} ms`,
    );
    console.log(
      `Node SDK, local, 20 flags per user: ${local.bulksPerSecond} users/s (${local.flagEvaluationsPerSecond} flag evaluations/s), p50 ${local.p50Us} µs, p99 ${local.p99Us} µs`,
    );
  } finally {
    await flags.close();
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
