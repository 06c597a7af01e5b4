import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import WebSocket from 'ws';
import type { ServiceRoute } from '../../src/router/index.js';
import {
  connectOrStartProxy,
  proxyPaths,
  stopProxyProcess,
} from '../../src/router/proxy-process/proxy-process-launcher.js';
import { proxyProcessOptions } from '../../src/router/proxy-process/proxy-process-options.js';
import { isAlive, RemoteProxyRouter } from '../../src/router/proxy-process/remote-proxy-router.js';
import { eventually } from '../support/eventually.js';
import { HttpBackends, httpContractClient } from './router-contract-http.js';
import type { ContractBackend } from './router-contract-types.js';

// The proxy process with two workers, handing its listening socket to a new
// generation (new options, `cutover proxy restart`), losing workers and its
// main process: what each costs, asserted with real processes on loopback.
let stateDir: string;
let backends: HttpBackends;
let backend: ContractBackend;
let router: RemoteProxyRouter;
const options = proxyProcessOptions({ host: '127.0.0.1', port: 0 }, 2, 'test');

const route: () => ServiceRoute = () => ({
  service: 'web',
  hosts: ['web.test'],
  default: true,
  target: { releaseId: 'r1', version: 'v1', slot: 'blue', upstreams: [backend.upstream('r1-0')] },
});

/** A request on a connection of its own: 'refused' when nothing accepts. */
async function fresh(port: number): Promise<number | string> {
  try {
    const response = await request(`http://127.0.0.1:${port}/`, {
      headers: { host: 'web.test' },
      reset: true,
      signal: AbortSignal.timeout(5_000),
    });
    await response.body.text();
    return response.statusCode;
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
}

/** Who the proxy behind the socket is now (the router's own identity is from its last connect). */
async function identity(): Promise<RemoteProxyRouter['proxy']> {
  const probe = await RemoteProxyRouter.connect({ socketPath: proxyPaths(stateDir).socket });
  try {
    return probe.proxy;
  } finally {
    await probe.detach();
  }
}

before(async () => {
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-handover-'));
  backends = new HttpBackends();
  backend = await backends.newBackend();
  router = await connectOrStartProxy({ stateDir, options, handoverDrainMs: 300 });
  await router.setRoute(route());
});

after(async () => {
  await router.close().catch(() => {});
  await stopProxyProcess(stateDir);
  await backends.close();
  if (process.env.KEEP_STATE === undefined) fs.rmSync(stateDir, { recursive: true, force: true });
  else process.stdout.write(`# state kept in ${stateDir}\n`);
});

describe('a proxy process with two workers', () => {
  it('other options on the same address: a new generation takes the socket over and nothing is refused or cut', async () => {
    const { port } = router.address;
    const old = await identity();
    assert.equal(old.workerPids.length, 1);
    const client = httpContractClient(router.address, backends);
    const held = await client.hold({ host: 'web.test' });
    // A kept-alive connection to the old generation, idle when the handover comes.
    const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const viaKept = (): Promise<{ status: number; connection: string | undefined }> =>
      new Promise((resolve, reject) => {
        http
          .get({ port, host: '127.0.0.1', headers: { host: 'web.test' }, agent: keepAlive }, (res) => {
            res.resume();
            res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }));
          })
          .on('error', reject);
      });
    assert.deepEqual(await viaKept(), { status: 200, connection: 'keep-alive' });
    const counted = async (): Promise<number> => {
      await router.refreshCounters();
      return router.counters().find((c) => c.releaseId === 'r1')?.requests ?? 0;
    };
    const before = await counted();

    // Requests on new connections all through the handover: none may meet a port nobody accepts on.
    let stop = false;
    const answers: (number | string)[] = [];
    const stream = (async () => {
      while (!stop) answers.push(...(await Promise.all(Array.from({ length: 4 }, () => fresh(port)))));
    })();
    await router.detach();
    router = await connectOrStartProxy({
      stateDir,
      options: proxyProcessOptions({ host: '127.0.0.1', port: 0, maxConnections: 500 }, 2, 'test'),
      handoverDrainMs: 300,
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    stop = true;
    await stream;

    const next = router.proxy;
    assert.notEqual(next.pid, old.pid, 'a new generation');
    assert.equal(router.address.port, port, 'on the same socket');
    assert.equal(router.startedHere, false, 'taken over, not started afresh');
    assert.ok(answers.length > 0);
    assert.deepEqual([...new Set(answers)], [200], 'every request on a new connection answered 200');
    // The kept-alive connection is still open (idle grace) and is let go with its next answer.
    assert.deepEqual(await viaKept(), { status: 200, connection: 'close' });
    // The request in flight on the old generation finishes there.
    assert.equal((await held.finish()).status, 200);
    await eventually(() => !isAlive(old.pid) && !old.workerPids.some(isAlive), 'the old generation exited', 15_000);
    // Counters carry on across generations: what the old one served before and after the handover is all there.
    const total = await counted();
    // Since `before`: the requests on new connections and the second one on the kept-alive connection.
    assert.equal(total - before, answers.length + 1);
    keepAlive.destroy();
  });

  it('a WebSocket on the old generation gets a close frame 1001 after the drain time; a new one opens', async () => {
    const { port } = router.address;
    const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers: { host: 'web.test' } });
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    const old = router.proxy.pid;
    const next = await router.handOver();
    assert.notEqual(next.pid, old);
    assert.equal(await closed, 1001, 'going away');
    const again = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers: { host: 'web.test' } });
    await new Promise((resolve, reject) => again.once('open', resolve).once('error', reject));
    again.send('hi');
    const echo = await new Promise<string>((resolve) =>
      again.once('message', (data: Buffer) => resolve(data.toString())),
    );
    assert.equal(echo, backend.name);
    again.close();
  });

  it('a killed worker is replaced; requests go on and the counters do not drop', async () => {
    const { port } = router.address;
    const before = await identity();
    const worker = before.workerPids[0] as number;
    await router.refreshCounters();
    const counted = router.counters().find((c) => c.releaseId === 'r1')?.requests ?? 0;
    process.kill(worker, 'SIGKILL');
    await eventually(
      async () => {
        const now = await identity();
        return now.workerPids.length === 1 && now.workerPids[0] !== worker;
      },
      'a new worker',
      15_000,
    );
    assert.equal(await fresh(port), 200);
    await router.refreshCounters();
    assert.ok((router.counters().find((c) => c.releaseId === 'r1')?.requests ?? 0) > counted);
  });

  it('its main process killed: the workers stop, and a new proxy with the routes serves', async (t) => {
    const { port } = router.address;
    const before = await identity();
    process.kill(before.pid, 'SIGKILL');
    const killedAt = Date.now();
    await eventually(
      async () => (await fresh(port)) === 200 && router.proxy.pid !== before.pid,
      'serving again',
      15_000,
    );
    t.diagnostic(`main proxy process killed: serving again after ${Date.now() - killedAt} ms`);
    await eventually(() => !before.workerPids.some(isAlive), 'the orphaned worker exited', 15_000);
    assert.equal((await identity()).workerPids.length, 1);
  });
});
