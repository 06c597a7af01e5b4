/**
 * Feature flags: how fast the Node SDK evaluates, and how fast a change made
 * through the admin API reaches it.
 *
 *   npm run build && node dist/bench/flags-bench.js        (FLAGS_BENCH_SECONDS=2 per case by default)
 *
 * Against a real cutover server started in this process on free loopback
 * ports: three flags (a plain boolean, a 50 % rollout, five targeting rules)
 * are created through the admin API and read by a FlagClient over the stream.
 * Each evaluation case runs for a bounded time in batches of 10,000
 * evaluations over 100,000 distinct users; the figures are evaluations/s over
 * the whole run and the median ns per evaluation over the batches. Then
 * ~50 changes are timed from just before the PATCH to the SDK's `change`
 * event. Last, the same three flags through the OpenFeature SDK: its own
 * InMemoryProvider (context evaluators doing the same checks) and
 * CutoverProvider, both via an OpenFeature client (evaluations/s).
 * Raw figures go to bench/results/flags-latest.json (git-ignored).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { InMemoryProvider, OpenFeature, type Client, type EvaluationContext } from '@openfeature/server-sdk';
import pino from 'pino';
import { parseConfig } from '../src/config/load-config.js';
import { bucketOf } from '../src/core/sticky-bucket.js';
import { findFreePort } from '../src/runtime/process/free-port.js';
import { startServer, type RunningServer } from '../src/server/start-server.js';
import { FlagClient, type FlagChange } from '../src/sdk/flags/index.js';
import { CutoverProvider } from '../src/sdk/openfeature/index.js';

const SAMPLE_APP = fileURLToPath(new URL('../../examples/sample-app/', import.meta.url));
const RESULTS = fileURLToPath(new URL('../../bench/results/flags-latest.json', import.meta.url));
const SECONDS = Number(process.env.FLAGS_BENCH_SECONDS ?? 2);
const CHANGES = Number(process.env.FLAGS_BENCH_CHANGES ?? 50);
const BATCH = 10_000;
const USERS = 100_000;

const FLAGS = {
  plain: {
    key: 'bench-plain',
    enabled: true,
    variants: { on: true, off: false },
    defaultVariant: 'on',
    offVariant: 'off',
  },
  rollout: {
    key: 'bench-rollout',
    enabled: true,
    variants: { on: true, off: false },
    defaultVariant: 'off',
    offVariant: 'off',
    rollout: { percentage: 50, stickiness: 'userId', variant: 'on' },
  },
  rules: {
    key: 'bench-rules',
    enabled: true,
    variants: { on: true, off: false },
    defaultVariant: 'off',
    offVariant: 'off',
    // Five rules, the user matching only the last: every evaluation runs all five.
    rules: [
      {
        name: 'staff',
        constraints: [{ operator: 'ends_with', attribute: 'email', value: '@example.com' }],
        variant: 'on',
      },
      {
        name: 'beta testers',
        constraints: [{ operator: 'in', attribute: 'plan', values: ['beta', 'internal'] }],
        variant: 'on',
      },
      {
        name: 'new app',
        constraints: [{ operator: 'semver_gt', attribute: 'appVersion', value: '3.0.0' }],
        variant: 'on',
      },
      {
        name: 'adults in FR',
        constraints: [
          { operator: 'equals', attribute: 'country', value: 'FR' },
          { operator: 'num_gte', attribute: 'age', value: 18 },
        ],
        variant: 'on',
      },
      { name: 'germany', constraints: [{ operator: 'equals', attribute: 'country', value: 'DE' }], variant: 'on' },
    ],
  },
} as const;

type Case = keyof typeof FLAGS;

interface Throughput {
  evaluationsPerSecond: number;
  medianNs: number;
  evaluations: number;
}

const contexts = Array.from({ length: USERS }, (_, index) => ({
  userId: `user-${index}`,
  targetingKey: `user-${index}`,
  email: `user-${index}@mail.test`,
  plan: 'free',
  appVersion: '2.4.1',
  country: 'DE',
  age: 20 + (index % 50),
}));

/** Runs `evaluate` in batches of BATCH for SECONDS; `sink` keeps the results alive so nothing is optimised away. */
function measure(evaluate: (context: (typeof contexts)[number]) => boolean): Throughput & { sink: number } {
  const batchNs: number[] = [];
  let sink = 0;
  let next = 0;
  for (let warm = 0; warm < 200_000; warm++) if (evaluate(contexts[warm % USERS]!)) sink++;
  const started = performance.now();
  while (performance.now() - started < SECONDS * 1000) {
    const batchStart = process.hrtime.bigint();
    for (let i = 0; i < BATCH; i++) {
      if (evaluate(contexts[next]!)) sink++;
      next = next + 1 === USERS ? 0 : next + 1;
    }
    batchNs.push(Number(process.hrtime.bigint() - batchStart) / BATCH);
  }
  const elapsed = (performance.now() - started) / 1000;
  const evaluations = batchNs.length * BATCH;
  return { evaluationsPerSecond: evaluations / elapsed, medianNs: percentile(batchNs, 0.5), evaluations, sink };
}

async function measureAsync(client: Client, key: string): Promise<Throughput> {
  const batchNs: number[] = [];
  const started = performance.now();
  let next = 0;
  const batch = 1_000;
  while (performance.now() - started < SECONDS * 1000) {
    const batchStart = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) {
      await client.getBooleanValue(key, false, contexts[next]);
      next = next + 1 === USERS ? 0 : next + 1;
    }
    batchNs.push(Number(process.hrtime.bigint() - batchStart) / batch);
  }
  const elapsed = (performance.now() - started) / 1000;
  return {
    evaluationsPerSecond: (batchNs.length * batch) / elapsed,
    medianNs: percentile(batchNs, 0.5),
    evaluations: batchNs.length * batch,
  };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** The same flags for OpenFeature's InMemoryProvider: context evaluators doing the checks cutover's rules do. */
function inMemoryFlags(): ConstructorParameters<typeof InMemoryProvider>[0] {
  const variants = { on: true, off: false };
  return {
    [FLAGS.plain.key]: { variants, defaultVariant: 'on', disabled: false },
    [FLAGS.rollout.key]: {
      variants,
      defaultVariant: 'off',
      disabled: false,
      contextEvaluator: (context) => (bucketOf(String(context.targetingKey), FLAGS.rollout.key) < 5_000 ? 'on' : 'off'),
    },
    [FLAGS.rules.key]: {
      variants,
      defaultVariant: 'off',
      disabled: false,
      contextEvaluator: (context: EvaluationContext) => {
        const text = (name: string): string => (typeof context[name] === 'string' ? context[name] : '');
        if (text('email').endsWith('@example.com')) return 'on';
        if (['beta', 'internal'].includes(text('plan'))) return 'on';
        if (text('appVersion') > '3.0.0') return 'on'; // a string compare: cheaper than a semver parse, so InMemory is flattered
        if (context.country === 'FR' && Number(context.age) >= 18) return 'on';
        return context.country === 'DE' ? 'on' : 'off';
      },
    },
  };
}

async function startBenchServer(dir: string): Promise<RunningServer> {
  const yaml = `server:
  proxy: 127.0.0.1:${await findFreePort()}
  admin: 127.0.0.1:${await findFreePort()}
  state_dir: ${path.join(dir, 'state')}
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

async function adminRequest(server: RunningServer, method: string, url: string, body: unknown): Promise<void> {
  const response = await fetch(`${server.adminUrl}${url}`, {
    method,
    headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${url}: ${response.status} ${await response.text()}`);
  await response.body?.cancel();
}

/** From just before the PATCH to the SDK's `change` event for the flag, CHANGES times. */
async function propagation(server: RunningServer, flags: FlagClient): Promise<number[]> {
  const latencies: number[] = [];
  for (let round = 0; round < CHANGES; round++) {
    const changed = new Promise<void>((resolve) => {
      const listener = (change: FlagChange): void => {
        if (!change.keys.includes(FLAGS.rollout.key)) return;
        flags.off('change', listener);
        resolve();
      };
      flags.on('change', listener);
    });
    const started = performance.now();
    const write = adminRequest(server, 'PATCH', `/api/v1/flags/${FLAGS.rollout.key}`, {
      patch: { rollout: { percentage: 40 + (round % 20) } },
    });
    await changed;
    latencies.push(performance.now() - started);
    await write;
  }
  return latencies;
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-flags-bench-'));
  const server = await startBenchServer(dir);
  const flags = new FlagClient({ url: server.adminUrl, token: server.sdkToken, reportIntervalMs: 0 });
  try {
    for (const flag of Object.values(FLAGS)) await adminRequest(server, 'POST', '/api/v1/flags', { flag });
    await flags.ready();
    while (flags.keys().length < 3) await new Promise((resolve) => setTimeout(resolve, 10));

    console.log(
      `cutover flags bench: ${SECONDS} s per case, ${USERS} users, Node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'}, load ${os.loadavg()[0]!.toFixed(1)}`,
    );
    const sdk: Record<string, Throughput> = {};
    for (const name of Object.keys(FLAGS) as Case[]) {
      const key = FLAGS[name].key;
      const { sink: _sink, ...result } = measure((context) => flags.isEnabled(key, context));
      sdk[name] = result;
      console.log(`SDK isEnabled  ${name.padEnd(8)} ${format(result)}`);
    }

    const latencies = await propagation(server, flags);
    const change = {
      median: percentile(latencies, 0.5),
      p95: percentile(latencies, 0.95),
      max: Math.max(...latencies),
      changes: latencies.length,
    };
    console.log(
      `change propagation (PATCH → SDK change event, ${change.changes} changes): median ${change.median.toFixed(2)} ms, p95 ${change.p95.toFixed(2)} ms, max ${change.max.toFixed(2)} ms`,
    );

    await OpenFeature.setProviderAndWait('in-memory', new InMemoryProvider(inMemoryFlags()));
    await OpenFeature.setProviderAndWait('cutover', new CutoverProvider({ client: flags, closeClient: false }));
    const openFeature: Record<string, Record<string, Throughput>> = { inMemory: {}, cutover: {} };
    for (const [label, domain] of [
      ['inMemory', 'in-memory'],
      ['cutover', 'cutover'],
    ] as const) {
      const client = OpenFeature.getClient(domain);
      for (const name of Object.keys(FLAGS) as Case[]) {
        const result = await measureAsync(client, FLAGS[name].key);
        openFeature[label]![name] = result;
        console.log(`OpenFeature ${label.padEnd(8)} ${name.padEnd(8)} ${format(result)}`);
      }
    }
    fs.mkdirSync(path.dirname(RESULTS), { recursive: true });
    fs.writeFileSync(
      RESULTS,
      JSON.stringify(
        { at: new Date().toISOString(), node: process.version, seconds: SECONDS, sdk, change, openFeature },
        null,
        2,
      ),
    );
  } finally {
    await OpenFeature.close();
    await flags.close();
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function format(result: Throughput): string {
  return `${Math.round(result.evaluationsPerSecond).toLocaleString('en-US').padStart(12)} evaluations/s, median ${result.medianNs.toFixed(0).padStart(5)} ns`;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
