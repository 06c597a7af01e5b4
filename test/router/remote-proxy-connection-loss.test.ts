import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ControlRequest, ProxyIdentity } from '../../src/router/proxy-process/control-protocol.js';
import { RemoteProxyRouter } from '../../src/router/proxy-process/remote-proxy-router.js';
import { route } from './proxy-fixtures.js';

/**
 * The control connection to the proxy process closing at the worst moments:
 * while a connection is being opened (hello, the replay of routes to a new
 * generation) and while the proxy stops. Each call must end (answered or
 * refused), never wait on a queue that nothing will send: the calls' timers
 * do not keep a CLI process alive, so `cutover down` once ended with Node's
 * "unsettled top-level await" (exit 13) when the proxy closed the connection
 * during hello.
 *
 * The proxy here is a scripted control server on a Unix socket, so each
 * connection can be cut exactly where the test needs it.
 */

/** What the scripted proxy does with one request on one connection. */
type Script = (request: ControlRequest, connection: number) => 'answer' | 'cut' | 'ignore';

interface ScriptedProxy {
  socketPath: string;
  generation: string;
  /** Every request received, with the connection (1, 2, ...) it came on. */
  received: { op: string; connection: number; request: ControlRequest }[];
  connections: number;
  close: () => Promise<void>;
}

let dir: string;
/** The pid of a process that has exited: what `close()` waits on after `stop`. */
let deadPid: number;

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-remote-loss-'));
  deadPid = spawnSync(process.execPath, ['-e', '']).pid;
});

after(() => fs.rmSync(dir, { recursive: true, force: true }));

let nextSocket = 0;

async function scriptedProxy(script: Script, generation = `gen-${nextSocket}`): Promise<ScriptedProxy> {
  const socketPath = path.join(dir, `control-${nextSocket++}.sock`);
  const proxy: ScriptedProxy = {
    socketPath,
    generation,
    received: [],
    connections: 0,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const routes = new Map<string, unknown>();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    const connection = ++proxy.connections;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.setEncoding('utf8');
    let buffered = '';
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const request = JSON.parse(buffered.slice(0, newline)) as ControlRequest;
        buffered = buffered.slice(newline + 1);
        proxy.received.push({ op: request.op, connection, request });
        const action = script(request, connection);
        if (action === 'cut') {
          socket.destroy();
          return;
        }
        if (action === 'ignore') continue;
        if (request.op === 'setRoute') routes.set(request.route.service, request.route);
        socket.write(`${JSON.stringify({ id: request.id, ok: true, result: resultOf(request) })}\n`);
      }
    });
  });
  const resultOf = (request: ControlRequest): unknown => {
    if (request.op === 'hello') {
      const identity: ProxyIdentity = {
        protocol: 1,
        pid: deadPid,
        generation: proxy.generation,
        startedAt: new Date().toISOString(),
        listen: { host: '127.0.0.1', port: 1 },
        optionsDigest: 'test',
        workers: 1,
        workerPids: [],
        routeVersion: routes.size,
        routes: [...routes.values()] as ProxyIdentity['routes'],
        unhealthy: [],
      };
      return identity;
    }
    if (request.op === 'counters') return [];
    return null;
  };
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  const close = proxy.close;
  proxy.close = async () => {
    for (const socket of sockets) socket.destroy();
    await close();
  };
  return proxy;
}

/** Rejects when `promise` has not settled within `ms`: a call left waiting on a queue nothing sends. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} was still waiting after ${ms} ms`)), ms);
    }),
  ]);
}

describe('the proxy control connection closing at the worst moment', () => {
  it('connect() fails at once when the proxy closes the connection during hello', async () => {
    const proxy = await scriptedProxy((request) => (request.op === 'hello' ? 'cut' : 'answer'));
    try {
      await assert.rejects(
        within(RemoteProxyRouter.connect({ socketPath: proxy.socketPath }), 3_000, 'connect()'),
        (error: Error & { code?: string }) => error.code === 'ROUTER_UNAVAILABLE',
      );
      assert.equal(proxy.connections, 1, 'a connect that failed does not go on reconnecting behind the caller');
    } finally {
      await proxy.close();
    }
  });

  it('close() ends when the proxy exits without answering stop', async () => {
    const proxy = await scriptedProxy((request) => (request.op === 'stop' ? 'cut' : 'answer'));
    try {
      const router = await RemoteProxyRouter.connect({ socketPath: proxy.socketPath });
      await within(router.close(), 3_000, 'close()');
      assert.deepEqual(
        proxy.received.map((r) => r.op),
        ['hello', 'counters', 'stop'],
        'after stop, nothing is sent again to a proxy that is exiting',
      );
    } finally {
      await proxy.close();
    }
  });

  it('a reconnect whose own hello is cut tries again, and the calls made meanwhile are sent', async () => {
    // Connection 1 serves, then is cut on the first setRoute; connection 2 is cut on hello; connection 3 serves.
    const proxy = await scriptedProxy((request, connection) => {
      if (connection === 1 && request.op === 'setRoute') return 'cut';
      if (connection === 2 && request.op === 'hello') return 'cut';
      return 'answer';
    });
    const router = await RemoteProxyRouter.connect({ socketPath: proxy.socketPath });
    try {
      // Far below the calls' own 10 s slack: the call is sent again by the reconnect, not rescued by its timer.
      await within(router.setRoute(route('web', ['web.test'], 'r1', [])), 3_000, 'setRoute across two cut connections');
      assert.equal(proxy.connections, 3);
      const onThird = proxy.received.filter((r) => r.connection === 3).map((r) => r.op);
      assert.deepEqual(onThird, ['hello', 'setRoute'], 'the same generation: the call is sent again, nothing replayed');
    } finally {
      await router.detach();
      await proxy.close();
    }
  });

  it('a new generation cut during the replay gets the routes again on the next connection', async () => {
    let replayCuts = 0;
    const proxy = await scriptedProxy((request, connection) => {
      // Connection 1 is cut on api's route, and the proxy behind the socket is then a new generation (it restarted).
      if (connection === 1 && request.op === 'setRoute' && request.route.service === 'api') {
        proxy.generation = 'second';
        return 'cut';
      }
      // The new generation's first connection is cut during the replay of web's route.
      if (connection === 2 && request.op === 'setRoute' && replayCuts++ === 0) return 'cut';
      return 'answer';
    }, 'first');
    const router = await RemoteProxyRouter.connect({ socketPath: proxy.socketPath });
    try {
      await router.setRoute(route('web', ['web.test'], 'r1', []));
      const pending = router.setRoute(route('api', ['api.test'], 'r2', []));
      await within(pending, 3_000, 'setRoute after a replay cut');
      const replayed = proxy.received.filter((r) => r.connection >= 2 && r.op === 'setRoute');
      assert.ok(
        replayed.some((r) => r.connection === 3 && r.request.op === 'setRoute' && r.request.route.service === 'web'),
        `web's route was replayed on the connection after the cut one: ${JSON.stringify(replayed.map((r) => [r.connection, r.op]))}`,
      );
    } finally {
      await router.detach();
      await proxy.close();
    }
  });
});
