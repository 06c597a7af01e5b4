import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Cidr } from '../../src/config/cidr.js';
import type { Router } from '../../src/router/index.js';
import { HaproxyRouter } from '../../src/router/haproxy/haproxy-router.js';
import { NginxRouter } from '../../src/router/nginx/nginx-router.js';
import { ProxyRouter } from '../../src/router/proxy/proxy-router.js';
import { haproxyInstalled } from '../support/haproxy-server.js';
import { startNginxServer, type RunningNginxServer } from '../support/nginx-server.js';
import { freePort, route } from '../router/proxy-fixtures.js';
import { exchange, startRecordingBackend, statusCodes, type RecordingBackend, type SeenRequest } from './raw-http.js';

/**
 * Finding 4 of issue 12 again, on the other two routers and with other
 * spellings. `server.trusted_proxies` decided only what the embedded proxy
 * believed: behind `router: nginx` a client's `X-Forwarded-For: 10.9.9.9`
 * reached the backend as `10.9.9.9, 127.0.0.1` and its `X-Real-IP` and
 * `Forwarded` passed untouched; behind `router: haproxy` the forged
 * X-Forwarded-For came first, before HAProxy's own. And on every router a
 * client could send `X_Forwarded_For`, which CGI-style backends (PHP, WSGI,
 * Rack) read as the same HTTP_X_FORWARDED_FOR.
 *
 * Now all three state what they saw unless the peer is trusted, and drop the
 * underscore spellings from anyone. Raw TCP, real nginx and HAProxy, and a
 * real node:http backend that records what it got.
 */
const LOOPBACK: Cidr[] = [{ address: '127.0.0.0', prefix: 8, family: 'ipv4' }];

interface Edge {
  name: string;
  port: number;
  router: Router;
  close(): Promise<void>;
}

async function proxyEdge(trustedProxies: Cidr[]): Promise<Edge> {
  const router = await ProxyRouter.listen({ host: '127.0.0.1', port: 0, trustedProxies });
  return { name: 'proxy', port: router.address.port, router, close: () => router.close() };
}

async function nginxEdge(trustedProxies: Cidr[]): Promise<Edge> {
  const nginx: RunningNginxServer = await startNginxServer();
  const port = await freePort();
  const router = await NginxRouter.attach({
    mainConfig: nginx.mainConfig,
    includeFile: nginx.includeFile,
    listen: { host: '127.0.0.1', port },
    stateDir: path.join(nginx.dir, 'state'),
    trustedProxies,
  });
  return {
    name: 'nginx',
    port,
    router,
    close: async () => {
      await router.close();
      await nginx.stop();
    },
  };
}

async function haproxyEdge(trustedProxies: Cidr[]): Promise<Edge> {
  if (!haproxyInstalled()) throw new Error('haproxy not found: apt-get install -y haproxy');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-haproxy-'));
  const port = await freePort();
  const router = await HaproxyRouter.start({ listen: { host: '127.0.0.1', port }, stateDir: dir, trustedProxies });
  return {
    name: 'haproxy',
    port,
    router,
    close: async () => {
      await router.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

let backend: RecordingBackend;
const untrusting: Edge[] = [];
const trusting: Edge[] = [];

before(async () => {
  backend = await startRecordingBackend();
  const fwd = route('fwd', ['fwd.test'], 'r-fwd', [{ id: 'fwd-0', host: '127.0.0.1', port: backend.port }]);
  for (const start of [proxyEdge, nginxEdge, haproxyEdge]) {
    untrusting.push(await start([]));
    trusting.push(await start(LOOPBACK));
  }
  for (const edge of [...untrusting, ...trusting]) await edge.router.setRoute(fwd);
});

after(async () => {
  for (const edge of [...untrusting, ...trusting]) await edge.close();
  await backend.close();
});

/** Sends one raw request through `edge` and returns what the backend saw of it. */
async function through(edge: Edge, head: string): Promise<SeenRequest> {
  const before = backend.seen.length;
  const { text } = await exchange(edge.port, `${head}\r\n`);
  assert.deepEqual(statusCodes(text), [200], `${edge.name} answered: ${text.slice(0, 200)}`);
  assert.equal(backend.seen.length, before + 1, `exactly one request reached the backend through ${edge.name}`);
  return backend.seen[before] as SeenRequest;
}

/** Every value the backend got for a header name, joined as a backend reads a repeated header. */
function valueOf(seen: SeenRequest, name: string): string | undefined {
  const values: string[] = [];
  for (let i = 0; i < seen.rawHeaders.length; i += 2) {
    if ((seen.rawHeaders[i] as string).toLowerCase() === name) values.push(seen.rawHeaders[i + 1] as string);
  }
  return values.length === 0 ? undefined : values.join(', ');
}

const spoofed = [
  'GET /who HTTP/1.1',
  'Host: fwd.test',
  'X-Forwarded-For: 10.9.9.9',
  'X-Forwarded-Proto: https',
  'X-Forwarded-Host: admin.internal',
  'X-Real-IP: 10.9.9.9',
  'Forwarded: for=10.9.9.9;proto=https',
  'Connection: close',
  '',
].join('\r\n');

describe('a client forging its address or scheme through nginx and HAProxy', () => {
  it('is not believed when it is not a trusted proxy: each router states what it saw, Forwarded is dropped', async () => {
    for (const edge of untrusting) {
      const seen = await through(edge, spoofed);
      assert.equal(valueOf(seen, 'x-forwarded-for'), '127.0.0.1', edge.name);
      assert.equal(valueOf(seen, 'x-forwarded-proto'), 'http', edge.name);
      assert.equal(valueOf(seen, 'x-forwarded-host'), 'fwd.test', edge.name);
      assert.equal(valueOf(seen, 'x-real-ip'), '127.0.0.1', edge.name);
      assert.equal(valueOf(seen, 'forwarded'), undefined, edge.name);
    }
  });

  it('is believed from a peer in trusted_proxies: the chain is kept and the peer appended', async () => {
    for (const edge of trusting) {
      const seen = await through(edge, spoofed);
      assert.equal(valueOf(seen, 'x-forwarded-for'), '10.9.9.9, 127.0.0.1', edge.name);
      assert.equal(valueOf(seen, 'x-forwarded-proto'), 'https', edge.name);
      assert.equal(valueOf(seen, 'x-forwarded-host'), 'admin.internal', edge.name);
      assert.equal(valueOf(seen, 'x-real-ip'), '10.9.9.9', edge.name);
      assert.equal(valueOf(seen, 'forwarded'), 'for=10.9.9.9;proto=https', edge.name);
    }
  });

  it('from a trusted peer that sends none of them, gets what the router saw', async () => {
    for (const edge of trusting) {
      const seen = await through(edge, ['GET /who HTTP/1.1', 'Host: fwd.test', 'Connection: close', ''].join('\r\n'));
      assert.equal(valueOf(seen, 'x-forwarded-for'), '127.0.0.1', edge.name);
      assert.equal(valueOf(seen, 'x-forwarded-proto'), 'http', edge.name);
      assert.equal(valueOf(seen, 'x-forwarded-host'), 'fwd.test', edge.name);
      assert.equal(valueOf(seen, 'x-real-ip'), '127.0.0.1', edge.name);
    }
  });
});

describe('a client spelling the forwarding headers with underscores', () => {
  const underscored = [
    'GET /who HTTP/1.1',
    'Host: fwd.test',
    'X_Forwarded_For: 6.6.6.6',
    'X-Forwarded_For: 6.6.6.6',
    'x_real_ip: 6.6.6.6',
    'X_Forwarded_Proto: https',
    'X-Forwarded_Host: admin.internal',
    'Connection: close',
    '',
  ].join('\r\n');

  it('reaches no backend with them, trusted or not (CGI would read them as X-Forwarded-For)', async () => {
    for (const edge of [...untrusting, ...trusting]) {
      const seen = await through(edge, underscored);
      const names = seen.rawHeaders.filter((_, i) => i % 2 === 0).map((name) => name.toLowerCase());
      assert.deepEqual(
        names.filter((name) => name.includes('_')),
        [],
        `${edge.name} passed on ${JSON.stringify(seen.rawHeaders)}`,
      );
      assert.equal(valueOf(seen, 'x-forwarded-for'), '127.0.0.1', edge.name);
      assert.equal(valueOf(seen, 'x-real-ip'), '127.0.0.1', edge.name);
    }
  });
});

describe('an HAProxy adopted after trusted_proxies changed', () => {
  it('is reloaded with the new rule rather than kept on the old one', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-haproxy-'));
    const listen = { host: '127.0.0.1', port: await freePort() };
    const fwd = route('fwd', ['fwd.test'], 'r-fwd', [{ id: 'fwd-0', host: '127.0.0.1', port: backend.port }]);
    const first = await HaproxyRouter.start({ listen, stateDir: dir, trustedProxies: LOOPBACK });
    const edge = (router: Router): Edge => ({
      name: 'haproxy',
      port: listen.port,
      router,
      close: () => router.close(),
    });
    let last: HaproxyRouter = first;
    try {
      await first.setRoute(fwd);
      assert.equal(valueOf(await through(edge(first), spoofed), 'x-real-ip'), '10.9.9.9', 'trusted at first');
      await first.detach();
      last = await HaproxyRouter.start({ listen, stateDir: dir, trustedProxies: [] });
      const seen = await through(edge(last), spoofed);
      assert.equal(valueOf(seen, 'x-real-ip'), '127.0.0.1', 'the adopted HAProxy no longer trusts loopback');
      assert.equal(valueOf(seen, 'x-forwarded-for'), '127.0.0.1');
    } finally {
      await last.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
