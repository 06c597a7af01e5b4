import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { SteadyTraffic, type TrafficSummary } from '../examples/demo/steady-traffic.js';
import type { ServiceRoute } from '../src/router/index.js';
import { connectOrStartProxy, proxyPaths } from '../src/router/proxy-process/proxy-process-launcher.js';
import { proxyProcessOptions } from '../src/router/proxy-process/proxy-process-options.js';
import { RemoteProxyRouter } from '../src/router/proxy-process/remote-proxy-router.js';

/**
 * What the proxy process's own lifecycle costs clients, with two workers, a
 * backend on 127.0.0.1, and two kinds of load at once: 200 req/s over 8
 * kept-alive connections (SteadyTraffic, as the tests use), and a stream of
 * requests on connections of their own (what a new visitor does), whose
 * longest silence is the "gap".
 *
 *   node dist/bench/proxy-lifecycle-bench.js
 *
 * 1. `cutover proxy restart` (a handover) five times;
 * 2. one worker killed (SIGKILL): failed requests, time until replaced;
 * 3. the main process killed: failed requests, time until served again.
 */
const ROUTE_HOST = 'web.test';

interface Phase {
  name: string;
  keptAlive: TrafficSummary;
  fresh: { sent: number; failed: number; longestGapMs: number; errors: string[] };
  extra: string;
}

async function main(): Promise<void> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-lifecycle-bench-'));
  const backend = http.createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end('{"version":"v1"}');
  });
  backend.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
  const backendPort = (backend.address() as { port: number }).port;
  const route: ServiceRoute = {
    service: 'web',
    hosts: [ROUTE_HOST],
    default: true,
    target: {
      releaseId: 'r1',
      version: 'v1',
      slot: 'blue',
      upstreams: [{ id: 'r1-0', host: '127.0.0.1', port: backendPort }],
    },
  };
  const router = await connectOrStartProxy({
    stateDir,
    options: proxyProcessOptions({ host: '127.0.0.1', port: 0 }, 2, 'bench'),
    handoverDrainMs: 1_000,
  });
  await router.setRoute(route);
  const port = router.address.port;
  const phases: Phase[] = [];
  const identity = async (): Promise<RemoteProxyRouter['proxy']> => {
    const probe = await RemoteProxyRouter.connect({ socketPath: proxyPaths(stateDir).socket });
    const who = probe.proxy;
    await probe.detach();
    return who;
  };
  try {
    phases.push(
      await underLoad(port, 'five handovers (cutover proxy restart)', async () => {
        const pids: number[] = [];
        for (let i = 0; i < 5; i++) {
          const started = performance.now();
          await router.handOver();
          pids.push(Math.round(performance.now() - started));
          await sleep(500);
        }
        return `each answered after ${pids.join(', ')} ms (new generation started and programmed)`;
      }),
    );
    phases.push(
      await underLoad(port, 'one worker killed (SIGKILL)', async () => {
        const before = await identity();
        const worker = before.workerPids[0] as number;
        const killedAt = performance.now();
        process.kill(worker, 'SIGKILL');
        for (;;) {
          const now = await identity();
          if (now.workerPids.length === 1 && now.workerPids[0] !== worker) break;
          await sleep(10);
        }
        return `replaced after ${(performance.now() - killedAt).toFixed(0)} ms`;
      }),
    );
    phases.push(
      await underLoad(port, 'main proxy process killed (SIGKILL)', async () => {
        const before = await identity();
        const killedAt = performance.now();
        process.kill(before.pid, 'SIGKILL');
        for (;;) {
          const status = await fresh(port);
          if (status === 200 && router.proxy.pid !== before.pid) break;
          await sleep(10);
        }
        return `serving again (new process) after ${(performance.now() - killedAt).toFixed(0)} ms`;
      }),
    );
  } finally {
    await router.close();
    await new Promise((resolve) => backend.close(resolve));
    backend.closeAllConnections();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
  console.log('\n| event | kept-alive: sent / failed | new connections: sent / failed | longest gap (ms) | notes |');
  console.log('|---|---:|---:|---:|---|');
  for (const p of phases) {
    console.log(
      `| ${p.name} | ${p.keptAlive.sent} / ${p.keptAlive.failed} | ${p.fresh.sent} / ${p.fresh.failed} | ${p.fresh.longestGapMs.toFixed(0)} | ${p.extra} |`,
    );
    for (const e of [...p.keptAlive.firstErrors, ...p.fresh.errors].slice(0, 3)) console.log(`  ${e}`);
  }
}

async function underLoad(port: number, name: string, event: () => Promise<string>): Promise<Phase> {
  const keptAlive = new SteadyTraffic({
    url: `http://127.0.0.1:${port}`,
    host: ROUTE_HOST,
    ratePerSecond: 200,
    connections: 8,
    maxDurationMs: 30_000,
    maxRequests: 6_000,
  }).start();
  let stop = false;
  const freshStats = { sent: 0, failed: 0, longestGapMs: 0, errors: [] as string[] };
  let lastAnswer = performance.now();
  const stream = (async () => {
    while (!stop) {
      const statuses = await Promise.all([fresh(port), fresh(port)]);
      const now = performance.now();
      for (const status of statuses) {
        freshStats.sent++;
        if (status === 200) {
          freshStats.longestGapMs = Math.max(freshStats.longestGapMs, now - lastAnswer);
          lastAnswer = now;
        } else {
          freshStats.failed++;
          if (freshStats.errors.length < 3) freshStats.errors.push(String(status));
        }
      }
      await sleep(5);
    }
  })();
  await keptAlive.waitForAnswers(200);
  const extra = await event();
  await keptAlive.waitForAnswers(200);
  stop = true;
  await stream;
  const summary = await keptAlive.stop();
  console.log(`${name}: ${extra}`);
  return { name, keptAlive: summary, fresh: freshStats, extra };
}

function fresh(port: number): Promise<number | string> {
  return new Promise((resolve) => {
    const req = http.get({ port, host: '127.0.0.1', headers: { host: ROUTE_HOST }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.setTimeout(5_000, () => req.destroy(new Error('timeout')));
    req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

await main();
