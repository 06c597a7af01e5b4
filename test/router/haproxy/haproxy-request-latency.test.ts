import assert from 'node:assert/strict';
import { once } from 'node:events';
import fs from 'node:fs';
import { createServer, type Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { Pool } from 'undici';
import type { ServiceRoute, Upstream } from '../../../src/router/index.js';
import { runningMasterPid, stopMaster } from '../../../src/router/haproxy/haproxy-process.js';
import { HaproxyRouter } from '../../../src/router/haproxy/haproxy-router.js';
import { HaproxyRuntimeApi } from '../../../src/router/haproxy/haproxy-runtime-api.js';
import { haproxyInstalled } from '../../support/haproxy-server.js';
import { freePort } from '../proxy-fixtures.js';

/**
 * Per-request latencies behind HAProxy: each request's line in the worker's
 * request log ring reaches the release's histogram and its samples for the
 * judge. A slow release shows as slow next to a fast one; the samples go on
 * through a reload (a new worker, a new ring) and through a restart of
 * cutover that adopts the running HAProxy (the ring read back from its start).
 */
// Far above what a fast answer takes on a loaded 2-core machine: the fast median once measured 22 ms when
// this was 40 (and the fast side had to stay under half of it).
const SLOW_MS = 150;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-haproxy-latency-'));
const servers: Server[] = [];
let pidFile = '';
let fast: Upstream;
let slow: Upstream;

async function backend(id: string, answerAfterMs: number): Promise<Upstream> {
  const server = createServer((_req, res) => {
    setTimeout(() => res.end(id), answerAfterMs);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  servers.push(server);
  const address = server.address();
  return { id, host: '127.0.0.1', port: typeof address === 'object' && address !== null ? address.port : 0 };
}

before(async () => {
  if (!haproxyInstalled())
    throw new Error('haproxy not found: apt-get install -y haproxy (scripts/install-test-servers.sh)');
  fast = await backend('web/r1/a', 0);
  slow = await backend('web/r2/a', SLOW_MS);
});

after(async () => {
  const pid = runningMasterPid(pidFile);
  if (pid !== null) await stopMaster(pid);
  for (const server of servers) {
    server.closeAllConnections();
    server.close();
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

/** r1 (fast) stable, r2 (slow) a canary at weight 0 that requests with `X-Slow: 1` reach. */
function route(hosts: string[]): ServiceRoute {
  return {
    service: 'web',
    hosts,
    default: false,
    target: { releaseId: 'r1', version: 'v1', slot: 'blue', upstreams: [fast] },
    canary: {
      target: { releaseId: 'r2', version: 'v2', slot: 'green', upstreams: [slow] },
      weight: 0,
      stickiness: { by: 'header', name: 'X-User' },
      match: [{ header: 'X-Slow', value: '1' }],
    },
  };
}

async function send(client: Pool, count: number, slowOnes: boolean): Promise<void> {
  for (let i = 0; i < count; i++) {
    const response = await client.request({
      path: '/',
      method: 'GET',
      headers: { host: 'web.test', ...(slowOnes ? { 'x-slow': '1' } : {}) },
    });
    assert.equal(response.statusCode, 200);
    await response.body.text();
  }
}

/** Waits until the release has `count` samples (the log is read as HAProxy writes it, a moment after the answer). */
async function samplesOf(router: HaproxyRouter, releaseId: string, count: number): Promise<number[]> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const samples = router.latencySamples('web', releaseId);
    if (samples.length >= count || Date.now() > deadline) return samples;
    await delay(20);
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

/** The HAProxy processes whose parent is the master: its workers, old ones still stopping included. */
function workersOf(masterPid: number): number[] {
  return fs
    .readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        return /^\d+ \(.*\) \S (\d+)/.exec(fs.readFileSync(`/proc/${entry}/stat`, 'utf8'))?.[1] === String(masterPid);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('HaproxyRouter request latencies', () => {
  let router: HaproxyRouter;
  let client: Pool;
  let listen: { host: string; port: number };

  before(async () => {
    listen = { host: '127.0.0.1', port: await freePort() };
    router = await HaproxyRouter.start({ listen, stateDir: dir });
    pidFile = router.pidFile;
    client = new Pool(`http://127.0.0.1:${listen.port}`, { connections: 2 });
    await router.setRoute(route(['web.test']));
  });

  after(async () => {
    await client.close();
    await router.detach();
  });

  it('keeps each release’s latencies: a slow release shows next to a fast one', async () => {
    await send(client, 30, false);
    await send(client, 30, true);
    const fastSamples = await samplesOf(router, 'r1', 30);
    const slowSamples = await samplesOf(router, 'r2', 30);
    assert.equal(fastSamples.length, 30, 'one sample per request to r1');
    assert.equal(slowSamples.length, 30, 'one sample per request to r2');
    assert.ok(median(slowSamples) >= SLOW_MS, `r2 median ${median(slowSamples)} ms`);
    assert.ok(median(fastSamples) < SLOW_MS / 2, `r1 median ${median(fastSamples)} ms`);

    // The histogram counts what `show stat` counts, and estimates the slow one above its delay.
    await router.refreshCounters();
    const counters = (releaseId: string) => router.counters().find((c) => c.releaseId === releaseId);
    assert.equal(counters('r1')?.status['2xx'], 30);
    assert.equal(counters('r1')?.latency.count, 30);
    assert.equal(counters('r2')?.latency.count, 30);
    assert.ok((counters('r2')?.latency.sumMs ?? 0) >= 30 * SLOW_MS, JSON.stringify(counters('r2')?.latency));
    assert.deepEqual(router.latencySamples('web', 'nope'), []);
  });

  it('goes on after a reload, and lets the old worker stop', async () => {
    const api = new HaproxyRuntimeApi({ socketPath: router.socketPath });
    const workerBefore = (await api.showInfo()).get('Pid');
    // A new host is a config change: a reload starts a new worker, with a new ring.
    await router.setRoute(route(['web.test', 'www.web.test']));
    assert.notEqual((await api.showInfo()).get('Pid'), workerBefore, 'reloaded');
    await send(client, 10, true);
    assert.equal((await samplesOf(router, 'r2', 40)).length, 40, 'the new worker’s requests are sampled');
    // An attached reader keeps a stopping worker alive: the old stream is let go once it went quiet.
    const master = runningMasterPid(pidFile) ?? 0;
    const deadline = Date.now() + 10_000;
    while (workersOf(master).length > 1 && Date.now() < deadline) await delay(100);
    assert.equal(workersOf(master).length, 1, `workers of ${master}: ${workersOf(master).join(', ')}`);
  });

  it('goes on after cutover restarts and adopts HAProxy, with what was logged meanwhile', async () => {
    await router.detach();
    // While no cutover runs, HAProxy serves and logs into its ring.
    await send(client, 20, true);
    router = await HaproxyRouter.start({ listen, stateDir: dir });
    assert.equal(runningMasterPid(pidFile) !== null, true);
    const backlog = await samplesOf(router, 'r2', 20);
    assert.ok(backlog.length >= 20, `the ring read back: ${backlog.length} samples`);
    const before = backlog.length;
    await send(client, 15, true);
    const after = await samplesOf(router, 'r2', before + 15);
    assert.equal(after.length, before + 15, 'new requests after adoption are sampled once each');
    assert.ok(median(after) >= SLOW_MS);
  });
});
