import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServiceRoute } from '../src/router/index.js';
import { ProxyRouter } from '../src/router/proxy/proxy-router.js';
import { runLoad, wrkAvailable, type LoadResult } from './load-generator.js';
import { nginxAvailable, startNginx } from './nginx-proxy.js';

/**
 * Throughput and latency of cutover's proxy against a direct connection and
 * nginx, all in front of the same sample app on this machine, plus how long a
 * switch takes to finish with the old release under load.
 *
 *   npm run bench                       (build, then node dist/bench/proxy-bench.js)
 *   BENCH_SECONDS=5 npm run bench       (shorter runs)
 *
 * Load only on 127.0.0.1, every run bounded in time. Figures and the way to
 * read them: bench/README.md.
 */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP_SECONDS = 3;
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const HOST = 'bench.local';
const SAMPLE_APP = fileURLToPath(new URL('../../examples/sample-app/server.js', import.meta.url));
const RESULTS_DIR = fileURLToPath(new URL('../../bench/results/', import.meta.url));

interface SwitchResult {
  from: string;
  to: string;
  oldInFlightAtSwitch: number;
  /** From setRoute returning to the last response of the old release (drain resolved). */
  switchToLastOldResponseMs: number;
  drained: boolean;
}

async function main(): Promise<void> {
  if (!wrkAvailable()) {
    console.warn('wrk is not installed (apt-get install -y wrk): falling back to the built-in undici load client; figures are not comparable with wrk runs.');
  }
  const machine = `${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), Node ${process.version}, ${os.platform()} ${os.release()}`;
  console.log(`machine: ${machine}`);
  console.log(`load: ${CONNECTIONS} keep-alive connections, 1 thread, ${SECONDS} s per run after a ${WARMUP_SECONDS} s warm-up\n`);

  const [blue, green] = await Promise.all([startSampleApp('v1'), startSampleApp('v2')]);
  const proxy = await ProxyRouter.listen({ host: '127.0.0.1', port: 0 });
  const blueRoute = benchRoute('r1', 'v1', blue.port);
  const greenRoute = benchRoute('r2', 'v2', green.port);
  proxy.setRoute(blueRoute);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-bench-'));
  const results: Record<string, LoadResult | null> = {};
  let nginxVersion: string | null = null;
  let switches: SwitchResult[] = [];
  try {
    results.direct = await measure('a) direct to the sample app', `http://127.0.0.1:${blue.port}/`);
    results.cutover = await measure('b) through cutover proxy', `http://127.0.0.1:${proxy.address.port}/`);
    if (nginxAvailable()) {
      const nginx = await startNginx(tmp, await freePort(), blue.port);
      nginxVersion = nginx.version;
      try {
        results.nginx = await measure(`c) through nginx ${nginx.version}`, `http://127.0.0.1:${nginx.port}/`);
      } finally {
        await nginx.stop();
      }
    } else {
      console.warn('c) nginx is not installed (apt-get install -y nginx): skipped.');
      results.nginx = null;
    }
    switches = await measureSwitches(proxy, blueRoute, greenRoute);
  } finally {
    await proxy.close();
    await Promise.all([blue.stop(), green.stop()]);
    fs.rmSync(tmp, { recursive: true, force: true });
  }

  printSummary(results, switches);
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, 'latest.json');
  fs.writeFileSync(
    file,
    `${JSON.stringify({ at: new Date().toISOString(), machine, nginxVersion, connections: CONNECTIONS, seconds: SECONDS, results, switches }, null, 2)}\n`,
  );
  console.log(`\nraw figures: ${path.relative(process.cwd(), file)}`);
}

async function measure(label: string, url: string): Promise<LoadResult> {
  await runLoad({ url, connections: CONNECTIONS, durationSeconds: WARMUP_SECONDS, host: HOST });
  const result = await runLoad({ url, connections: CONNECTIONS, durationSeconds: SECONDS, host: HOST });
  console.log(
    `${label.padEnd(36)} ${result.requestsPerSecond.toFixed(0).padStart(7)} req/s  p50 ${result.p50Ms.toFixed(2)} ms  p99 ${result.p99Ms.toFixed(2)} ms  errors ${result.errors}`,
  );
  return result;
}

/**
 * d) Under load through the proxy, flip the route three times; each time,
 * time from setRoute to the moment the old release has answered its last
 * request (the drain resolving), with no failed request in the load run.
 */
async function measureSwitches(proxy: ProxyRouter, blueRoute: ServiceRoute, greenRoute: ServiceRoute): Promise<SwitchResult[]> {
  proxy.setRoute(blueRoute);
  const duration = 8;
  const load = runLoad({ url: `http://127.0.0.1:${proxy.address.port}/`, connections: CONNECTIONS, durationSeconds: duration, host: HOST });
  const results: SwitchResult[] = [];
  let current = blueRoute;
  for (const atSeconds of [2, 4, 6]) {
    await sleep(atSeconds === 2 ? 2_000 : 2_000 - (results.at(-1)?.switchToLastOldResponseMs ?? 0));
    const next = current === blueRoute ? greenRoute : blueRoute;
    const from = current.target?.releaseId ?? '?';
    const startedAt = performance.now();
    proxy.setRoute(next);
    const oldInFlightAtSwitch = proxy.counters().find((c) => c.releaseId === from)?.inFlight ?? 0;
    const { drained } = await proxy.drain('bench', from, 10_000);
    results.push({
      from,
      to: next.target?.releaseId ?? '?',
      oldInFlightAtSwitch,
      switchToLastOldResponseMs: performance.now() - startedAt,
      drained,
    });
    current = next;
  }
  const loadResult = await load;
  for (const r of results) {
    console.log(
      `d) switch ${r.from} → ${r.to}: ${r.oldInFlightAtSwitch} requests in flight on ${r.from}, last one answered ${r.switchToLastOldResponseMs.toFixed(2)} ms after setRoute (drained: ${r.drained})`,
    );
  }
  console.log(`   load during the switches: ${loadResult.requests} requests, ${loadResult.errors} errors`);
  if (loadResult.errors > 0) console.warn('   WARNING: requests failed during the switches');
  return results;
}

function printSummary(results: Record<string, LoadResult | null>, switches: SwitchResult[]): void {
  const cutover = results.cutover;
  const nginx = results.nginx;
  console.log('\n| path | req/s | p50 ms | p99 ms | errors |');
  console.log('|---|---:|---:|---:|---:|');
  for (const [name, r] of Object.entries(results)) {
    if (r) console.log(`| ${name} | ${r.requestsPerSecond.toFixed(0)} | ${r.p50Ms.toFixed(2)} | ${r.p99Ms.toFixed(2)} | ${r.errors} |`);
  }
  if (cutover && nginx) {
    console.log(`\ncutover / nginx throughput: ${((100 * cutover.requestsPerSecond) / nginx.requestsPerSecond).toFixed(0)}% (acceptance: >= 60%)`);
  }
  const worst = Math.max(...switches.map((s) => s.switchToLastOldResponseMs));
  if (switches.length > 0) console.log(`slowest switch-to-last-old-response: ${worst.toFixed(2)} ms`);
}

function benchRoute(releaseId: string, version: string, port: number): ServiceRoute {
  return {
    service: 'bench',
    hosts: [HOST],
    default: true,
    target: { releaseId, version, slot: releaseId === 'r1' ? 'blue' : 'green', upstreams: [{ id: `bench/${releaseId}/0`, host: '127.0.0.1', port }] },
  };
}

async function startSampleApp(version: string): Promise<{ port: number; stop(): Promise<void> }> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [SAMPLE_APP], {
    env: { ...process.env, PORT: String(port), APP_VERSION: version, HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('listening')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`sample app ${version} exited with ${code}`)));
  });
  return {
    port,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    },
  };
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  server.close();
  await once(server, 'close');
  return port;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

await main();
