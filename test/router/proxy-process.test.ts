import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { isCutoverError } from '../../src/core/errors.js';
import { findFreePort } from '../../src/runtime/process/free-port.js';
import type { ServiceRoute } from '../../src/router/index.js';
import {
  connectOrStartProxy,
  proxyPaths,
  stopProxyProcess,
} from '../../src/router/proxy-process/proxy-process-launcher.js';
import { proxyProcessOptions } from '../../src/router/proxy-process/proxy-process-options.js';
import { isAlive, type RemoteProxyRouter } from '../../src/router/proxy-process/remote-proxy-router.js';
import { eventually } from '../support/eventually.js';
import { HttpBackends } from './router-contract-http.js';
import type { ContractBackend } from './router-contract-types.js';

// What running the proxy as a process of its own is for: it serves on while
// the controller is gone, a controller that comes back adopts it (routes and
// counters intact), and one that crashed is started again with its routes.
let stateDir: string;
let backends: HttpBackends;
let backend: ContractBackend;
const agent = new Agent({ connections: 4 });
const options = proxyProcessOptions({ host: '127.0.0.1', port: 0 }, 1, 'test');

const routeTo = (b: ContractBackend, releaseId = 'r1'): ServiceRoute => ({
  service: 'web',
  hosts: ['web.test'],
  default: false,
  target: { releaseId, version: 'v1', slot: 'blue', upstreams: [b.upstream(`${releaseId}-0`)] },
});

async function get(port: number): Promise<{ status: number; backend: string }> {
  const response = await request(`http://127.0.0.1:${port}/`, {
    headers: { host: 'web.test' },
    dispatcher: agent,
    signal: AbortSignal.timeout(5_000),
  });
  const body = await response.body.text();
  return { status: response.statusCode, backend: body };
}

before(async () => {
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-proxyproc-'));
  backends = new HttpBackends();
  backend = await backends.newBackend();
});

after(async () => {
  await stopProxyProcess(stateDir);
  await agent.close();
  await backends.close();
  fs.rmSync(stateDir, { recursive: true, force: true });
});

describe('the proxy process', () => {
  let router: RemoteProxyRouter;

  it('starts in a process group of its own, with an owner-only control socket and none of the server environment', async () => {
    process.env.CUTOVER_TOKEN_FOR_THIS_TEST = 'a-secret-the-proxy-must-not-see';
    try {
      router = await connectOrStartProxy({ stateDir, options });
    } finally {
      delete process.env.CUTOVER_TOKEN_FOR_THIS_TEST;
    }
    assert.equal(router.startedHere, true);
    const { pid } = router.proxy;
    assert.notEqual(pid, process.pid);
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command: state ppid pgrp session; a process group of its own means pgrp == pid.
    const [, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    assert.equal(Number(pgrp), pid, 'its own process group: a signal to the controller group does not reach it');
    const environ = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
    assert.deepEqual(
      environ.map((entry) => entry.split('=')[0]),
      ['PATH'],
    );
    const socketMode = fs.statSync(proxyPaths(stateDir).socket).mode & 0o777;
    assert.equal(socketMode & 0o077, 0, `control socket mode 0${socketMode.toString(8)}`);
  });

  it('serves its routes while no controller is connected, and a controller that comes back adopts it as it is', async () => {
    await router.setRoute(routeTo(backend));
    const { port } = router.address;
    for (let i = 0; i < 20; i++) assert.deepEqual(await get(port), { status: 200, backend: backend.name });
    await eventually(
      () => (router.counters().find((c) => c.releaseId === 'r1')?.requests ?? 0) === 20,
      'the 20 requests counted',
    );
    const before = router.proxy;
    await router.detach();

    for (let i = 0; i < 10; i++) assert.deepEqual(await get(port), { status: 200, backend: backend.name });

    router = await connectOrStartProxy({ stateDir, options });
    assert.equal(router.startedHere, false, 'adopted, not started');
    assert.equal(router.proxy.pid, before.pid);
    assert.equal(router.proxy.generation, before.generation);
    assert.deepEqual(
      router.proxy.routes.map((r) => [r.service, r.target?.releaseId]),
      [['web', 'r1']],
      'the routes it kept',
    );
    assert.equal(
      router.counters().find((c) => c.releaseId === 'r1')?.requests,
      30,
      'counters stay cumulative across controllers',
    );
  });

  it('is started again with its routes and health marks when it dies, and serves within a second or so', async (t) => {
    const other = await backends.newBackend();
    await router.setRoute({
      ...routeTo(backend),
      target: {
        releaseId: 'r1',
        version: 'v1',
        slot: 'blue',
        upstreams: [backend.upstream('r1-0'), other.upstream('r1-1')],
      },
    });
    router.setUpstreamHealthy('r1-1', false);
    const { port } = router.address;
    const old = router.proxy;
    process.kill(old.pid, 'SIGKILL');
    const killedAt = Date.now();
    // The new process holds the routes before it accepts; the router learns who it is when it reconnects.
    await eventually(async () => {
      try {
        return (await get(port)).status === 200 && router.proxy.pid !== old.pid;
      } catch {
        return false;
      }
    }, 'a new proxy process serving');
    const gapMs = Date.now() - killedAt;
    assert.notEqual(router.proxy.pid, old.pid);
    assert.notEqual(router.proxy.generation, old.generation);
    assert.equal(isAlive(old.pid), false);
    // The health mark came back with the route: the unhealthy instance gets nothing.
    for (let i = 0; i < 10; i++) assert.deepEqual(await get(port), { status: 200, backend: backend.name });
    t.diagnostic(`proxy process killed: serving again after ${gapMs} ms`);
  });

  it('a control connection that sends garbage is closed; the proxy serves on', async () => {
    const socket = net.createConnection(proxyPaths(stateDir).socket);
    await new Promise((resolve) => socket.once('connect', resolve));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.on('error', () => {});
    socket.write('this is not json\n');
    await closed;
    assert.deepEqual(await get(router.address.port), { status: 200, backend: backend.name });
  });

  it('a new listen address cannot be handed over: the proxy is stopped and a new one started there', async () => {
    const old = router.proxy;
    await router.detach();
    const port = await findFreePort();
    router = await connectOrStartProxy({
      stateDir,
      options: proxyProcessOptions({ host: '127.0.0.1', port }, 1, 'test'),
    });
    assert.equal(router.address.port, port);
    assert.equal(router.startedHere, true);
    assert.notEqual(router.proxy.pid, old.pid);
    await eventually(() => !isAlive(old.pid), 'the old proxy process gone');
  });

  it('a port another program holds fails the start with PORT_IN_USE naming the cause', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const taken = (holder.address() as net.AddressInfo).port;
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-proxyproc-'));
    try {
      await assert.rejects(
        connectOrStartProxy({
          stateDir: elsewhere,
          options: proxyProcessOptions({ host: '127.0.0.1', port: taken }, 1, 'test'),
        }),
        (error: unknown) => {
          assert.ok(isCutoverError(error) && error.code === 'PORT_IN_USE', String(error));
          assert.match((error as Error).message, /EADDRINUSE/);
          return true;
        },
      );
    } finally {
      await new Promise((resolve) => holder.close(resolve));
      fs.rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('stops when its state directory is removed: nothing could control it again', async () => {
    const gone = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-proxyproc-'));
    const lone = await connectOrStartProxy({ stateDir: gone, options });
    const { pid } = lone.proxy;
    await lone.detach();
    fs.rmSync(gone, { recursive: true, force: true });
    await eventually(() => !isAlive(pid), 'the orphaned proxy process gone', 15_000);
  });

  it('close() is the deliberate full stop', async () => {
    const { pid } = router.proxy;
    await router.close();
    assert.equal(isAlive(pid), false);
    assert.equal(fs.existsSync(proxyPaths(stateDir).socket), false);
  });
});
