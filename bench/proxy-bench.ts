import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServiceRoute } from '../src/router/index.js';
import { runningMasterPid } from '../src/router/haproxy/haproxy-process.js';
import { HaproxyRouter } from '../src/router/haproxy/haproxy-router.js';
import { ProxyRouter } from '../src/router/proxy/proxy-router.js';
import { haproxyInstalled } from '../test/support/haproxy-server.js';
import { connectOrStartProxy } from '../src/router/proxy-process/proxy-process-launcher.js';
import { proxyProcessOptions } from '../src/router/proxy-process/proxy-process-options.js';
import type { RemoteProxyRouter } from '../src/router/proxy-process/remote-proxy-router.js';
import { pinToLoadCore, runLoad, unpinProxy, wrkAvailable, type LoadResult } from './load-generator.js';
import { nginxAvailable, startNginx, type RunningNginx } from './nginx-proxy.js';
import { childPids, ownCpuMs, processCpuMs } from './process-cpu.js';

/**
 * Throughput and latency of cutover's proxy against a direct connection and
 * nginx, all in front of the same sample app on this machine, plus how long a
 * switch takes to finish with the old release under load.
 *
 *   npm run bench                                 (build, then node dist/bench/proxy-bench.js)
 *   BENCH_SECONDS=5 BENCH_ROUNDS=1 npm run bench  (a quick look)
 *   BENCH_PATHS=direct,nginx,haproxy npm run bench (only those paths, no switch run)
 *
 * The three paths are measured in turns, round after round, and the median
 * of the rounds is reported: on a small shared machine one run can be
 * skewed by whatever else is running. Load only on 127.0.0.1, every run
 * bounded in time. Figures and how to read them: bench/README.md.
 */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WARMUP_SECONDS = 2;
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
/** BENCH_PATHS: a comma-separated subset of the paths (PathName) to measure; unset, all of them. */
const ONLY_PATHS = process.env.BENCH_PATHS?.split(',').map((name) => name.trim()) ?? null;
const wanted = (name: PathName): boolean => ONLY_PATHS === null || ONLY_PATHS.includes(name);
const HOST = 'bench.local';
const SAMPLE_APP = fileURLToPath(new URL('../../examples/sample-app/server.js', import.meta.url));
const RESULTS_DIR = fileURLToPath(new URL('../../bench/results/', import.meta.url));

/**
 * cutover: the proxy in this process (as the first benches ran it); proxy-1w and proxy-2w: the proxy process
 * `cutover server` runs, with one and two workers; nginx and nginx-2w: with one and two worker processes;
 * haproxy: HAProxy driven by HaproxyRouter, one thread.
 */
type PathName = 'direct' | 'cutover' | 'proxy-1w' | 'proxy-2w' | 'nginx' | 'nginx-2w' | 'haproxy' | FloorKind;

/**
 * Where Node's floor is (`floor-proxies.ts`), measured only when BENCH_PATHS names them: Node's `http`
 * server answering itself, a `net` server answering itself, and a reverse proxy on `net` sockets with
 * Node's HTTP parser on both sides and nothing else.
 */
const FLOOR_KINDS = ['http-answer', 'socket-answer', 'llhttp-proxy'] as const;
type FloorKind = (typeof FLOOR_KINDS)[number];
const FLOOR_DEVICE = fileURLToPath(new URL('./floor-proxies.js', import.meta.url));

interface Measurement extends LoadResult {
  round: number;
  /** 1-minute load average when the run started: other work on the machine skews a run. */
  loadAverage: number;
  /** CPU time of the proxy process per request (null for the direct path or without /proc). */
  proxyCpuUsPerRequest: number | null;
  appCpuUsPerRequest: number | null;
  /**
   * CPU of the bench process itself per request: the proxy for `cutover`; for `haproxy`, HaproxyRouter
   * following the request log (one line per request), on the same pinned core as HAProxy.
   */
  benchCpuUsPerRequest: number | null;
}

interface SwitchResult {
  from: string;
  to: string;
  oldInFlightAtSwitch: number;
  /** From setRoute to the old release's last response (its in-flight count reaching 0). */
  lastOldResponseMs: number;
  /** From setRoute to drain() resolving: includes closing the old release's pooled connections. */
  drainMs: number;
  drained: boolean;
}

interface Target {
  name: PathName;
  label: string;
  url: string;
  proxyCpuMs: () => number | null;
}

async function main(): Promise<void> {
  if (!wrkAvailable()) {
    console.warn(
      'wrk is not installed (apt-get install -y wrk): using the built-in undici load client instead; its figures are not comparable with wrk runs.',
    );
  }
  const machine = `${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`;
  console.log(`machine: ${machine}`);
  console.log(
    `load: ${CONNECTIONS} keep-alive connections, 1 wrk thread, ${SECONDS} s per run after ${WARMUP_SECONDS} s of warm-up, ${ROUNDS} round(s)\n`,
  );

  const [blue, green] = await Promise.all([startSampleApp('v1'), startSampleApp('v2')]);
  const proxy = await ProxyRouter.listen({ host: '127.0.0.1', port: 0 });
  const blueRoute = benchRoute('r1', 'v1', blue.port);
  const greenRoute = benchRoute('r2', 'v2', green.port);
  await proxy.setRoute(blueRoute);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-bench-'));
  const nginxes: RunningNginx[] = [];
  const processes: RemoteProxyRouter[] = [];
  const measurements: Record<PathName, Measurement[]> = {
    direct: [],
    cutover: [],
    'proxy-1w': [],
    'proxy-2w': [],
    nginx: [],
    'nginx-2w': [],
    haproxy: [],
    'http-answer': [],
    'socket-answer': [],
    'llhttp-proxy': [],
  };
  const devices: ChildProcess[] = [];
  const haproxies: HaproxyRouter[] = [];
  let switches: SwitchResult[] = [];
  try {
    const targets: Target[] = [
      {
        name: 'direct',
        label: 'a) direct to the sample app',
        url: `http://127.0.0.1:${blue.port}/`,
        proxyCpuMs: () => null,
      },
      {
        name: 'cutover',
        label: 'b) through cutover',
        url: `http://127.0.0.1:${proxy.address.port}/`,
        proxyCpuMs: ownCpuMs,
      },
    ];
    for (const workers of [1, 2]) {
      if (!wanted(workers === 1 ? 'proxy-1w' : 'proxy-2w')) continue;
      const router = await connectOrStartProxy({
        stateDir: path.join(tmp, `proxy-${workers}w`),
        options: proxyProcessOptions({ host: '127.0.0.1', port: 0 }, workers, 'bench'),
      });
      processes.push(router);
      await router.setRoute(blueRoute);
      const pids = [router.proxy.pid, ...router.proxy.workerPids];
      if (workers > 1) unpinProxy(pids);
      targets.push({
        name: workers === 1 ? 'proxy-1w' : 'proxy-2w',
        label: `b${workers}) proxy process, ${workers} worker${workers === 1 ? '' : 's'}`,
        url: `http://127.0.0.1:${router.address.port}/`,
        proxyCpuMs: () => sumCpuMs(pids),
      });
    }
    if (nginxAvailable()) {
      for (const workers of [1, 2]) {
        if (!wanted(workers === 1 ? 'nginx' : 'nginx-2w')) continue;
        const dir = path.join(tmp, `nginx-${workers}w`);
        fs.mkdirSync(dir);
        const running = await startNginx(dir, await freePort(), blue.port, workers);
        nginxes.push(running);
        const children = childPids(running.pid);
        if (workers > 1) unpinProxy([running.pid, ...children]);
        targets.push({
          name: workers === 1 ? 'nginx' : 'nginx-2w',
          label: `c${workers}) nginx ${running.version}, ${workers} worker${workers === 1 ? '' : 's'}`,
          url: `http://127.0.0.1:${running.port}/`,
          proxyCpuMs: () => sumCpuMs(children),
        });
      }
    } else {
      console.warn('c) nginx is not installed (apt-get install -y nginx): skipped.\n');
    }
    if (!wanted('haproxy')) {
      // Not measured this run.
    } else if (haproxyInstalled()) {
      const haproxyPort = await freePort();
      const router = await HaproxyRouter.start({
        listen: { host: '127.0.0.1', port: haproxyPort },
        stateDir: path.join(tmp, 'haproxy'),
        threads: 1,
      });
      haproxies.push(router);
      await router.setRoute(blueRoute);
      const master = runningMasterPid(router.pidFile);
      // Read when measured: right after the reload that added the service, the old worker is still finishing.
      targets.push({
        name: 'haproxy',
        label: 'd) HAProxy (HaproxyRouter), 1 thread',
        url: `http://127.0.0.1:${haproxyPort}/`,
        proxyCpuMs: () => sumCpuMs(master === null ? [] : childPids(master)),
      });
    } else {
      console.warn('d) haproxy is not installed (apt-get install -y haproxy): skipped.\n');
    }
    for (const kind of FLOOR_KINDS) {
      if (!ONLY_PATHS?.includes(kind)) continue;
      const port = await freePort();
      const device = await startFloorDevice(kind, port, blue.port);
      devices.push(device);
      targets.push({
        name: kind,
        label: `e) floor: ${kind}`,
        url: `http://127.0.0.1:${port}/`,
        proxyCpuMs: () => sumCpuMs([device.pid ?? 0]),
      });
    }
    const measured = targets.filter((target) => wanted(target.name));
    for (let round = 1; round <= ROUNDS; round++) {
      // Rotate the order so no path always runs right after the same neighbour.
      const order = measured.map((_, i) => measured[(i + round - 1) % measured.length] as Target);
      for (const target of order) measurements[target.name].push(await measure(target, round, blue.pid));
    }
    if (ONLY_PATHS === null) switches = await measureSwitches(proxy, blueRoute, greenRoute);
  } finally {
    for (const running of nginxes) await running.stop();
    for (const device of devices) device.kill('SIGKILL');
    for (const router of haproxies) await router.close();
    for (const router of processes) await router.close();
    await proxy.close();
    await Promise.all([blue.stop(), green.stop()]);
    fs.rmSync(tmp, { recursive: true, force: true });
  }

  const summary = summarize(measurements);
  // Each proxy against nginx with as many workers, run for run.
  const ratioOf = (ours: PathName, theirs: PathName): number[] =>
    (measurements[ours].length === 0 ? [] : measurements[theirs]).map((nginxRun, i) => {
      const run = measurements[ours][i];
      return run === undefined ? Number.NaN : run.requestsPerSecond / nginxRun.requestsPerSecond;
    });
  const ratios = ratioOf('cutover', 'nginx');
  const workerRatios = { '1 worker': ratioOf('proxy-1w', 'nginx'), '2 workers': ratioOf('proxy-2w', 'nginx-2w') };
  const haproxyRatios = ratioOf('haproxy', 'nginx');
  if (haproxyRatios.length > 0 && measurements.haproxy.length > 0)
    console.log(`HAProxy / nginx, 1 worker: median ${(100 * median(haproxyRatios)).toFixed(0)}% of the rounds`);
  for (const [label, r] of Object.entries(workerRatios))
    if (r.length > 0)
      console.log(`proxy process / nginx, ${label}: median ${(100 * median(r)).toFixed(0)}% of the rounds`);
  printSummary(summary, ratios, switches);
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, 'latest.json');
  const record = {
    at: new Date().toISOString(),
    machine,
    connections: CONNECTIONS,
    seconds: SECONDS,
    rounds: ROUNDS,
    summary,
    cutoverToNginxPerRound: ratios,
    proxyProcessToNginxPerRound: workerRatios,
    measurements,
    switches,
  };
  fs.writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
  console.log(`\nall figures: ${path.relative(process.cwd(), file)}`);
}

async function measure(target: Target, round: number, appPid: number): Promise<Measurement> {
  await runLoad({ url: target.url, connections: CONNECTIONS, durationSeconds: WARMUP_SECONDS, host: HOST });
  const loadAverage = os.loadavg()[0] ?? 0;
  const proxyBefore = target.proxyCpuMs();
  const appBefore = processCpuMs(appPid);
  const benchBefore = ownCpuMs();
  const result = await runLoad({ url: target.url, connections: CONNECTIONS, durationSeconds: SECONDS, host: HOST });
  const proxyAfter = target.proxyCpuMs();
  const appAfter = processCpuMs(appPid);
  const benchAfter = ownCpuMs();
  const perRequest = (before: number | null, after: number | null): number | null =>
    before === null || after === null || result.requests === 0 ? null : ((after - before) * 1000) / result.requests;
  const measurement: Measurement = {
    ...result,
    round,
    loadAverage,
    proxyCpuUsPerRequest: perRequest(proxyBefore, proxyAfter),
    appCpuUsPerRequest: perRequest(appBefore, appAfter),
    benchCpuUsPerRequest: perRequest(benchBefore, benchAfter),
  };
  const cpu =
    measurement.proxyCpuUsPerRequest === null
      ? ''
      : `  proxy CPU ${measurement.proxyCpuUsPerRequest.toFixed(0)} µs/req` +
        (target.name === 'haproxy'
          ? ` (+ log reader ${measurement.benchCpuUsPerRequest?.toFixed(1) ?? '?'} µs/req)`
          : '');
  console.log(
    `round ${round} ${target.label.padEnd(30)} ${result.requestsPerSecond.toFixed(0).padStart(6)} req/s  p50 ${result.p50Ms.toFixed(2)} ms  p99 ${result.p99Ms.toFixed(2)} ms  errors ${result.errors}${cpu}  (load avg ${loadAverage.toFixed(2)})`,
  );
  return measurement;
}

/**
 * d) Under load through the proxy, flip the route three times. Each time,
 * measure from setRoute to the old release's last response, and to the
 * drain resolving; the load run must see no failed request.
 */
async function measureSwitches(
  proxy: ProxyRouter,
  blueRoute: ServiceRoute,
  greenRoute: ServiceRoute,
): Promise<SwitchResult[]> {
  await proxy.setRoute(blueRoute);
  const load = runLoad({
    url: `http://127.0.0.1:${proxy.address.port}/`,
    connections: CONNECTIONS,
    durationSeconds: 8,
    host: HOST,
  });
  const results: SwitchResult[] = [];
  let current = blueRoute;
  const loadStartedAt = performance.now();
  for (const atMs of [2_000, 4_000, 6_000]) {
    await sleep(atMs - (performance.now() - loadStartedAt));
    const next = current === blueRoute ? greenRoute : blueRoute;
    const from = current.target?.releaseId ?? '?';
    const inFlight = (): number => proxy.counters().find((c) => c.releaseId === from)?.inFlight ?? 0;
    const startedAt = performance.now();
    await proxy.setRoute(next);
    const oldInFlightAtSwitch = inFlight();
    let lastOldResponseMs = 0;
    // Poll every event-loop turn: cheap, and the window is a few milliseconds.
    const watcher = (async () => {
      while (inFlight() > 0) await new Promise((resolve) => setImmediate(resolve));
      lastOldResponseMs = performance.now() - startedAt;
    })();
    const { drained } = await proxy.drain('bench', from, 10_000);
    const drainMs = performance.now() - startedAt;
    await watcher;
    results.push({ from, to: next.target?.releaseId ?? '?', oldInFlightAtSwitch, lastOldResponseMs, drainMs, drained });
    current = next;
  }
  const loadResult = await load;
  console.log('');
  for (const r of results) {
    console.log(
      `d) switch ${r.from} → ${r.to}: ${r.oldInFlightAtSwitch} requests in flight on ${r.from}; its last response ${r.lastOldResponseMs.toFixed(2)} ms after setRoute, drain done after ${r.drainMs.toFixed(2)} ms (drained: ${r.drained})`,
    );
  }
  console.log(`   load during the switches: ${loadResult.requests} requests, ${loadResult.errors} errors`);
  if (loadResult.errors > 0) console.warn('   WARNING: requests failed during the switches');
  return results;
}

interface PathSummary {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  proxyCpuUsPerRequest: number | null;
  appCpuUsPerRequest: number | null;
}

function summarize(measurements: Record<PathName, Measurement[]>): Partial<Record<PathName, PathSummary>> {
  const summary: Partial<Record<PathName, PathSummary>> = {};
  for (const [name, runs] of Object.entries(measurements) as [PathName, Measurement[]][]) {
    if (runs.length === 0) continue;
    const cpu = runs.map((r) => r.proxyCpuUsPerRequest).filter((v): v is number => v !== null);
    const appCpu = runs.map((r) => r.appCpuUsPerRequest).filter((v): v is number => v !== null);
    summary[name] = {
      requestsPerSecond: median(runs.map((r) => r.requestsPerSecond)),
      p50Ms: median(runs.map((r) => r.p50Ms)),
      p99Ms: median(runs.map((r) => r.p99Ms)),
      errors: runs.reduce((sum, r) => sum + r.errors, 0),
      proxyCpuUsPerRequest: cpu.length > 0 ? median(cpu) : null,
      appCpuUsPerRequest: appCpu.length > 0 ? median(appCpu) : null,
    };
  }
  return summary;
}

function printSummary(
  summary: Partial<Record<PathName, PathSummary>>,
  ratios: number[],
  switches: SwitchResult[],
): void {
  console.log(`\nmedian of ${ROUNDS} round(s):\n`);
  console.log('| path | req/s | p50 ms | p99 ms | errors | proxy CPU µs/req | app CPU µs/req |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const [name, r] of Object.entries(summary)) {
    const cpu = r.proxyCpuUsPerRequest === null ? '–' : r.proxyCpuUsPerRequest.toFixed(0);
    const app = r.appCpuUsPerRequest === null ? '–' : r.appCpuUsPerRequest.toFixed(0);
    console.log(
      `| ${name} | ${r.requestsPerSecond.toFixed(0)} | ${r.p50Ms.toFixed(2)} | ${r.p99Ms.toFixed(2)} | ${r.errors} | ${cpu} | ${app} |`,
    );
  }
  if (ratios.length > 0) {
    // Ratios of runs made next to each other: less skewed by the machine's other work than a ratio of medians.
    const perRound = ratios.map((r) => `${(100 * r).toFixed(0)}%`).join(', ');
    console.log(
      `\ncutover / nginx throughput: median ${(100 * median(ratios)).toFixed(0)}% of the rounds (${perRound}); acceptance: >= 60%`,
    );
  }
  if (summary.cutover?.proxyCpuUsPerRequest && summary.nginx?.proxyCpuUsPerRequest) {
    const cutoverCpu = summary.cutover.proxyCpuUsPerRequest;
    const nginxCpu = summary.nginx.proxyCpuUsPerRequest;
    console.log(
      `proxy CPU per request: cutover ${cutoverCpu.toFixed(0)} µs, nginx ${nginxCpu.toFixed(0)} µs (one core: ~${(1e6 / cutoverCpu).toFixed(0)} vs ~${(1e6 / nginxCpu).toFixed(0)} req/s)`,
    );
  }
  if (switches.length > 0) {
    const worst = Math.max(...switches.map((s) => s.lastOldResponseMs));
    console.log(`slowest switch to the old release's last response: ${worst.toFixed(2)} ms`);
  }
}

function sumCpuMs(pids: readonly number[]): number | null {
  let total = 0;
  for (const pid of pids) {
    const ms = processCpuMs(pid);
    if (ms === null) return null;
    total += ms;
  }
  return total;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

function benchRoute(releaseId: string, version: string, port: number): ServiceRoute {
  return {
    service: 'bench',
    hosts: [HOST],
    default: true,
    target: {
      releaseId,
      version,
      slot: releaseId === 'r1' ? 'blue' : 'green',
      upstreams: [{ id: `bench/${releaseId}/0`, host: '127.0.0.1', port }],
    },
  };
}

/** A floor device on the proxy's core (it inherits the bench's pinning), as the proxy process is. */
async function startFloorDevice(kind: FloorKind, port: number, upstreamPort: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [FLOOR_DEVICE, kind], {
    env: { PATH: process.env.PATH ?? '', PORT: String(port), UPSTREAM_PORT: String(upstreamPort) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('listening')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`floor device ${kind} exited with ${code}`)));
  });
  return child;
}

async function startSampleApp(version: string): Promise<{ port: number; pid: number; stop(): Promise<void> }> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [SAMPLE_APP], {
    env: { ...process.env, PORT: String(port), APP_VERSION: version, HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  pinToLoadCore(child.pid);
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('listening')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`sample app ${version} exited with ${code}`)));
  });
  return {
    port,
    pid: child.pid ?? 0,
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
