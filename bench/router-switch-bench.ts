import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Pool } from 'undici';
import type { Router, ServiceRoute } from '../src/router/index.js';
import { HaproxyRouter } from '../src/router/haproxy/haproxy-router.js';
import { NginxRouter } from '../src/router/nginx/nginx-router.js';
import { ProxyRouter } from '../src/router/proxy/proxy-router.js';
import { haproxyInstalled } from '../test/support/haproxy-server.js';
import { nginxInstalled, startNginxServer, type RunningNginxServer } from '../test/support/nginx-server.js';
import { freePort, route, startSampleApp, type SampleApp } from '../test/router/proxy-fixtures.js';

/**
 * Blue-green switches under steady kept-alive load, through each router:
 * cutover's embedded proxy (one route-table swap) and nginx driven by
 * NginxRouter (render, nginx -t, reload, verify), and HAProxy driven by
 * HaproxyRouter (add server, set map, drain, del server over the Runtime
 * API, no reload). Counts what the clients
 * see: failed requests (non-2xx), connection errors (reset, closed under a
 * request, EPIPE), requests sent after setRoute resolved that the old
 * release still answered; and how long setRoute takes.
 *
 * The load client runs in this process (undici Pool, kept-alive, one request
 * at a time per connection), as does the embedded proxy: the figures are
 * about correctness and switch time, not throughput (proxy-bench.ts).
 *
 *   npm run build && node dist/bench/router-switch-bench.js
 *   SWITCHES=20 CONNECTIONS=16 SWITCH_GAP_MS=300 (the defaults)
 */
const SWITCHES = Number(process.env.SWITCHES ?? 20);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 16);
const SWITCH_GAP_MS = Number(process.env.SWITCH_GAP_MS ?? 300);
const WARMUP_MS = 1_000;

interface RunResult {
  router: string;
  requests: number;
  failed: number;
  connectionErrors: Record<string, number>;
  staleAfterResolve: number;
  switchMs: number[];
  drainMs: number[];
}

async function runSwitches(
  name: string,
  router: Router,
  url: string,
  blue: ServiceRoute,
  green: ServiceRoute,
): Promise<RunResult> {
  await router.setRoute(blue);
  const result: RunResult = {
    router: name,
    requests: 0,
    failed: 0,
    connectionErrors: {},
    staleAfterResolve: 0,
    switchMs: [],
    drainMs: [],
  };
  const client = new Pool(url, { connections: CONNECTIONS, pipelining: 1 });
  let stop = false;
  /**
   * The version setRoute last resolved for: a request sent after that, and
   * answered before the next switch started, must get it.
   */
  let expected: string | null = null;
  let switchesStarted = 0;
  let switching = false;
  const worker = async (): Promise<void> => {
    while (!stop) {
      const mustBe = switching ? null : expected;
      const epoch = switchesStarted;
      result.requests++;
      try {
        const response = await client.request({ path: '/', method: 'GET', headers: { host: 'web.test' } });
        const body = await response.body.text();
        if (response.statusCode < 200 || response.statusCode >= 300) {
          result.failed++;
          continue;
        }
        const version = (JSON.parse(body) as { version: string }).version;
        if (mustBe !== null && epoch === switchesStarted && version !== mustBe) result.staleAfterResolve++;
      } catch (error) {
        const code = String((error as { code?: string }).code ?? 'unknown');
        const message = error instanceof Error ? error.message : String(error);
        const key = `${code} (${message})`;
        result.connectionErrors[key] = (result.connectionErrors[key] ?? 0) + 1;
      }
    }
  };
  const load = Promise.all(Array.from({ length: CONNECTIONS }, () => worker()));
  await delay(WARMUP_MS);
  let current = blue;
  for (let i = 0; i < SWITCHES; i++) {
    const next = current === blue ? green : blue;
    const startedAt = performance.now();
    switchesStarted++;
    switching = true;
    await router.setRoute(next);
    result.switchMs.push(performance.now() - startedAt);
    expected = next.target?.version ?? null;
    switching = false;
    const drainStartedAt = performance.now();
    await router.drain('web', current.target?.releaseId ?? '', 10_000);
    result.drainMs.push(performance.now() - drainStartedAt);
    current = next;
    await delay(SWITCH_GAP_MS);
  }
  stop = true;
  await load;
  await client.close();
  return result;
}

function percentile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

function report(results: RunResult[]): void {
  console.log(
    `\n${SWITCHES} blue/green switches under load from ${CONNECTIONS} kept-alive connections (${SWITCH_GAP_MS} ms between switches)\n`,
  );
  console.log(
    '| router | requests | failed (non-2xx) | connection errors | old release after resolve | setRoute p50 ms | setRoute max ms | drain p50 ms | drain max ms |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of results) {
    const errors = Object.values(r.connectionErrors).reduce((a, b) => a + b, 0);
    console.log(
      `| ${r.router} | ${r.requests} | ${r.failed} | ${errors} | ${r.staleAfterResolve} | ${percentile(r.switchMs, 0.5).toFixed(1)} | ${Math.max(...r.switchMs).toFixed(1)} | ${percentile(r.drainMs, 0.5).toFixed(1)} | ${Math.max(...r.drainMs).toFixed(1)} |`,
    );
  }
  for (const r of results) {
    for (const [kind, count] of Object.entries(r.connectionErrors)) console.log(`  ${r.router}: ${count} × ${kind}`);
  }
}

async function main(): Promise<void> {
  const apps: SampleApp[] = await Promise.all([startSampleApp('v1'), startSampleApp('v2')]);
  const [v1, v2] = apps as [SampleApp, SampleApp];
  const blue = route('web', ['web.test'], 'r1', [v1.upstream('web/r1/0')], { version: 'v1' });
  const green = route('web', ['web.test'], 'r2', [v2.upstream('web/r2/0')], { version: 'v2' });
  const results: RunResult[] = [];
  let nginx: RunningNginxServer | null = null;
  try {
    const proxy = await ProxyRouter.listen({ host: '127.0.0.1', port: 0 });
    try {
      results.push(
        await runSwitches('cutover embedded proxy', proxy, `http://127.0.0.1:${proxy.address.port}`, blue, green),
      );
    } finally {
      await proxy.close();
    }
    if (!nginxInstalled()) {
      console.log('nginx is not installed: the nginx run is skipped');
    } else {
      nginx = await startNginxServer();
      const port = await freePort();
      const router = await NginxRouter.attach({
        mainConfig: nginx.mainConfig,
        includeFile: nginx.includeFile,
        listen: { host: '127.0.0.1', port },
        stateDir: path.join(nginx.dir, 'state'),
      });
      try {
        results.push(await runSwitches('nginx (NginxRouter, reload)', router, `http://127.0.0.1:${port}`, blue, green));
      } finally {
        await router.close();
      }
    }
    if (!haproxyInstalled()) {
      console.log('haproxy is not installed: the HAProxy run is skipped');
    } else {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-haproxy-bench-'));
      const port = await freePort();
      const router = await HaproxyRouter.start({ listen: { host: '127.0.0.1', port }, stateDir: dir });
      try {
        results.push(
          await runSwitches('HAProxy (HaproxyRouter, Runtime API)', router, `http://127.0.0.1:${port}`, blue, green),
        );
      } finally {
        await router.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  } finally {
    await nginx?.stop();
    await Promise.all(apps.map((app) => app.stop()));
  }
  report(results);
}

await main();
