import assert from 'node:assert/strict';
import { once } from 'node:events';
import http, { type IncomingHttpHeaders, type Server } from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net, { type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import fs from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Router, ServiceRoute, TlsRoute, Upstream } from '../../src/router/index.js';
import { TestCertificateAuthority, type IssuedCertificate } from '../support/test-certificates.js';

/**
 * What a config means at the edge, as one table of cases every router that
 * terminates TLS runs (the embedded proxy, nginx): certificates by SNI,
 * HTTP/2 by ALPN (and 400 for a `host` naming another host than
 * `:authority`), plain HTTP redirected (308) except ACME challenges, HSTS
 * on HTTPS answers only, 421 for a service served in the clear, maintenance
 * (503 + Retry-After, HTML or JSON by Accept, allowed addresses through),
 * path routes (longest prefix, strip, matched on the normalised path) and
 * max_body (413). Running the same
 * table against both is what shows a config means the same on both.
 *
 * HAProxy does not run it: the config refuses https, routes, max_body and
 * maintenance with router haproxy (tls-checks.ts, path-route-checks.ts).
 * A router that cannot keep a case declares it with the reason, as in
 * router-contract.ts.
 */
export const EDGE_CASES = {
  sni: 'each host gets its own certificate by SNI, and a name without one fails the handshake',
  h2: 'a client offering h2 by ALPN talks HTTP/2 through to the release',
  authority:
    'over HTTP/2, a host header naming another host than :authority gets 400 and reaches no service (RFC 9113 §8.3.1)',
  redirect: 'plain HTTP for a name with a certificate gets 308 to HTTPS, except ACME challenges',
  hsts: "HSTS rides on HTTPS answers only, the app's own is kept, and a service in the clear gets 421 over HTTPS",
  maintenance:
    'maintenance answers 503 + Retry-After (JSON, or HTML by Accept), lets allowed addresses through, and ends',
  paths:
    'path routes: the longest prefix wins by whole segments, a stripped prefix is gone upstream, and an absolute-form target routes by its path',
  pathForms:
    'path routes match the decoded path with // merged and dot segments resolved, pass the target on as written (a stripped one normalised), and answer 400 to a path above /',
  maxBody:
    'a body over max_body gets 413 and never reaches the release (with Expect: 100-continue, before any 100); a smaller one passes',
} as const;

export type EdgeCase = keyof typeof EDGE_CASES;

export interface EdgeHarness {
  router: Router;
  /** The plain listener and the TLS listener; the router redirects plain HTTP (redirect_http on). */
  plain: { host: string; port: number };
  secure: { host: string; port: number };
  close(): Promise<void>;
}

export interface EdgeContractOptions {
  name: string;
  setup: () => Promise<EdgeHarness>;
  skip?: Partial<Record<EdgeCase, string>>;
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** What the echo backend saw. */
interface Seen {
  backend: string;
  url: string;
  bodyBytes: number;
}

/** Backends answering JSON of what they saw (name, target, body size); `?sts=1` sends the app's own HSTS. */
class EchoBackends {
  private readonly servers: { server: Server; sockets: Set<Socket> }[] = [];

  async start(name: string): Promise<{ upstream: (id: string) => Upstream; port: number }> {
    const sockets = new Set<Socket>();
    const server = http.createServer((req, res) => {
      let bytes = 0;
      req.on('data', (chunk: Buffer) => (bytes += chunk.length));
      req.on('end', () => {
        const body = JSON.stringify({ backend: name, url: req.url ?? '', bodyBytes: bytes } satisfies Seen);
        const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/json', 'x-backend': name };
        if ((req.url ?? '').includes('sts=1')) headers['strict-transport-security'] = 'max-age=5';
        res.writeHead(200, headers);
        res.end(body);
      });
    });
    server.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    this.servers.push({ server, sockets });
    const port = (server.address() as { port: number }).port;
    return { upstream: (id) => ({ id, host: '127.0.0.1', port }), port };
  }

  async close(): Promise<void> {
    await Promise.all(
      this.servers.map(({ server, sockets }) => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const socket of sockets) socket.destroy();
        return closed;
      }),
    );
  }
}

function route(service: string, hosts: string[], upstream: Upstream, extra: Partial<ServiceRoute> = {}): ServiceRoute {
  return {
    service,
    hosts,
    default: false,
    target: { releaseId: `${service}-r1`, version: 'v1', slot: 'blue', upstreams: [upstream] },
    ...extra,
  };
}

function tlsOf(certificate: IssuedCertificate, hosts: string[], hsts?: string): TlsRoute {
  return {
    certificates: [{ hosts, certPem: certificate.certPem, keyPem: certificate.keyPem }],
    ...(hsts === undefined ? {} : { hsts }),
  };
}

export function routerEdgeContract(options: EdgeContractOptions): void {
  describe(`Router edge contract: ${options.name}`, () => {
    let harness: EdgeHarness;
    let ca: TestCertificateAuthority;
    let dir: string;
    const backends = new EchoBackends();

    before(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-edge-'));
      ca = TestCertificateAuthority.create(dir);
      harness = await options.setup();
    });

    after(async () => {
      await harness?.close();
      await backends.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    const declared = Object.entries(options.skip ?? {});
    if (declared.length > 0) {
      it('declares what it cannot do, each with its reason', (t) => {
        for (const [name, reason] of declared) {
          assert.ok(name in EDGE_CASES, `${name} is a case of the edge contract`);
          assert.ok(typeof reason === 'string' && reason.trim().length >= 20, `${name}: the reason says why`);
          t.diagnostic(`not run: ${EDGE_CASES[name as EdgeCase]}: ${reason}`);
        }
      });
    }

    const test = (name: EdgeCase, body: () => Promise<void>): void => {
      if (options.skip?.[name] !== undefined) return;
      it(EDGE_CASES[name], body);
    };

    /** One request on a fresh connection (so it meets the router's current config). */
    const send = (
      scheme: 'http' | 'https',
      host: string,
      target: string,
      init: { method?: string; headers?: Record<string, string>; body?: Buffer; chunked?: boolean } = {},
    ): Promise<Answer> => {
      const address = scheme === 'https' ? harness.secure : harness.plain;
      return new Promise((resolve, reject) => {
        const headers: Record<string, string> = { host, ...init.headers };
        if (init.body !== undefined && init.chunked !== true) headers['content-length'] = String(init.body.length);
        const common = {
          host: address.host,
          port: address.port,
          path: target,
          method: init.method ?? 'GET',
          headers,
          agent: false,
        };
        const req =
          scheme === 'https'
            ? https.request({ ...common, ca: ca.caPem, servername: host.replace(/:\d+$/, '') })
            : http.request(common);
        req.on('response', (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
          res.on('error', reject);
        });
        // A router may answer 413 and close before the whole body went out: the answer is what counts.
        req.on('error', reject);
        if (init.body !== undefined) req.end(init.body);
        else req.end();
      });
    };

    /**
     * A POST with `Expect: 100-continue` on a raw connection: the statuses it gets, in order. The body goes
     * out only after a 100, as a client that asks first does.
     */
    const statusesWithExpect = async (host: string, length: number): Promise<number[]> => {
      const socket = net.connect(harness.plain.port, harness.plain.host);
      socket.setEncoding('latin1');
      socket.on('error', () => {});
      let buffer = '';
      const statuses: number[] = [];
      socket.write(
        `POST /up HTTP/1.1\r\nHost: ${host}\r\nContent-Length: ${length}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`,
      );
      try {
        for await (const chunk of socket) {
          buffer += chunk as string;
          for (let end = buffer.indexOf('\r\n\r\n'); end >= 0; end = buffer.indexOf('\r\n\r\n')) {
            const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(buffer)?.[1] ?? '0');
            statuses.push(status);
            buffer = buffer.slice(end + 4);
            if (status === 100) socket.write(Buffer.alloc(length, 1));
            else return statuses;
          }
        }
      } finally {
        socket.destroy();
      }
      return statuses;
    };

    const seen = (answer: Answer): Seen => {
      assert.equal(answer.status, 200, answer.text);
      return JSON.parse(answer.text) as Seen;
    };

    test('sni', async () => {
      const [one, two] = [await backends.start('sni-a'), await backends.start('sni-b')];
      const certA = ca.issue(['a.sni.test']);
      const certB = ca.issue(['b.sni.test']);
      await harness.router.setRoute(
        route('sni-a', ['a.sni.test'], one.upstream('a0'), { tls: tlsOf(certA, ['a.sni.test']) }),
      );
      await harness.router.setRoute(
        route('sni-b', ['b.sni.test'], two.upstream('b0'), { tls: tlsOf(certB, ['b.sni.test']) }),
      );
      const serialOf = (servername: string): Promise<string> =>
        new Promise((resolve, reject) => {
          const socket = tls.connect({ ...harness.secure, servername, ca: ca.caPem, ALPNProtocols: ['http/1.1'] });
          socket.once('secureConnect', () => {
            resolve(socket.getPeerX509Certificate()?.serialNumber ?? '');
            socket.destroy();
          });
          socket.once('error', reject);
        });
      assert.equal(await serialOf('a.sni.test'), certA.serial);
      assert.equal(await serialOf('b.sni.test'), certB.serial);
      await assert.rejects(serialOf('nobody.sni.test'), 'a name without a certificate fails the handshake');
      assert.equal(seen(await send('https', 'a.sni.test', '/')).backend, 'sni-a');
      assert.equal(seen(await send('https', 'b.sni.test', '/')).backend, 'sni-b');
    });

    test('h2', async () => {
      const backend = await backends.start('h2');
      const cert = ca.issue(['h2.test']);
      await harness.router.setRoute(
        route('h2', ['h2.test'], backend.upstream('h0'), { tls: tlsOf(cert, ['h2.test']) }),
      );
      const session = http2.connect(`https://${harness.secure.host}:${harness.secure.port}`, {
        ca: ca.caPem,
        servername: 'h2.test',
      });
      try {
        await once(session, 'connect');
        assert.equal(session.alpnProtocol, 'h2');
        const stream = session.request({ ':path': '/over-h2?x=1', ':authority': 'h2.test' });
        const [headers] = (await once(stream, 'response')) as [http2.IncomingHttpHeaders];
        let text = '';
        stream.setEncoding('utf8');
        stream.on('data', (chunk: string) => (text += chunk));
        await once(stream, 'end');
        assert.equal(headers[':status'], 200);
        assert.deepEqual(JSON.parse(text), { backend: 'h2', url: '/over-h2?x=1', bodyBytes: 0 });
      } finally {
        session.close();
      }
    });

    test('authority', async () => {
      const [mine, theirs] = [await backends.start('authority-mine'), await backends.start('authority-theirs')];
      const cert = ca.issue(['mine.h2.test', 'theirs.h2.test']);
      const tls = tlsOf(cert, ['mine.h2.test', 'theirs.h2.test']);
      await harness.router.setRoute(route('authority-mine', ['mine.h2.test'], mine.upstream('m0'), { tls }));
      await harness.router.setRoute(route('authority-theirs', ['theirs.h2.test'], theirs.upstream('t0'), { tls }));
      const session = http2.connect(`https://${harness.secure.host}:${harness.secure.port}`, {
        ca: ca.caPem,
        servername: 'mine.h2.test',
      });
      session.on('error', () => undefined);
      const ask = async (headers: http2.OutgoingHttpHeaders): Promise<{ status: number; text: string }> => {
        const stream = session.request({ ':path': '/', ...headers });
        stream.on('error', () => undefined);
        const [head] = (await once(stream, 'response')) as [http2.IncomingHttpHeaders];
        let text = '';
        stream.setEncoding('utf8');
        stream.on('data', (chunk: string) => (text += chunk));
        await once(stream, 'end');
        return { status: Number(head[':status']), text };
      };
      try {
        await once(session, 'connect');
        const alone = await ask({ ':authority': 'mine.h2.test' });
        assert.equal(alone.status, 200, alone.text);
        assert.equal((JSON.parse(alone.text) as Seen).backend, 'authority-mine');
        // :authority routes one service, the app may read host and act for the other.
        const other = await ask({ ':authority': 'mine.h2.test', host: 'theirs.h2.test' });
        assert.equal(other.status, 400, other.text);
        assert.ok(!other.text.includes('"backend"'), 'no service answered');
      } finally {
        session.close();
      }
    });

    test('redirect', async () => {
      const backend = await backends.start('redirect');
      const cert = ca.issue(['go.test']);
      await harness.router.setRoute(
        route('redirect', ['go.test'], backend.upstream('r0'), { tls: tlsOf(cert, ['go.test']) }),
      );
      const moved = await send('http', 'Go.Test', '/a/b?c=1&d=%20');
      assert.equal(moved.status, 308);
      assert.equal(moved.headers.location, `https://go.test:${harness.secure.port}/a/b?c=1&d=%20`);
      // The name written fully qualified is the same name: redirected too, not served in the clear.
      const qualified = await send('http', 'go.test.', '/q');
      assert.equal(qualified.status, 308);
      assert.equal(qualified.headers.location, `https://go.test:${harness.secure.port}/q`);
      // An ACME validation must be answered in the clear: it goes to the release when the router holds no such token.
      const challenge = seen(await send('http', 'go.test', '/.well-known/acme-challenge/unknown-token'));
      assert.equal(challenge.url, '/.well-known/acme-challenge/unknown-token');
      assert.equal(seen(await send('https', 'go.test', '/a/b?c=1')).url, '/a/b?c=1');
    });

    test('hsts', async () => {
      const backend = await backends.start('hsts');
      const cert = ca.issue(['strict.test']);
      await harness.router.setRoute(
        route('hsts', ['strict.test'], backend.upstream('s0'), { tls: tlsOf(cert, ['strict.test'], 'max-age=600') }),
      );
      await harness.router.setRoute(route('clear', ['clear.test'], backend.upstream('c0')));
      const secure = await send('https', 'strict.test', '/');
      assert.equal(secure.status, 200);
      assert.equal(secure.headers['strict-transport-security'], 'max-age=600');
      assert.equal((await send('https', 'strict.test', '/?sts=1')).headers['strict-transport-security'], 'max-age=5');
      const redirected = await send('http', 'strict.test', '/');
      assert.equal(redirected.status, 308);
      assert.equal(redirected.headers['strict-transport-security'], undefined);
      const clear = await send('http', 'clear.test', '/');
      assert.equal(clear.status, 200);
      assert.equal(clear.headers['strict-transport-security'], undefined);
      // Asked over a connection opened for strict.test, but for a service served in the clear.
      const misdirected = await new Promise<Answer>((resolve, reject) => {
        const req = https.request(
          {
            ...harness.secure,
            path: '/',
            headers: { host: 'clear.test' },
            ca: ca.caPem,
            servername: 'strict.test',
            agent: false,
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: '' }));
          },
        );
        req.on('error', reject);
        req.end();
      });
      assert.equal(misdirected.status, 421);
    });

    test('maintenance', async () => {
      const backend = await backends.start('maint');
      const base = route('maint', ['maint.test'], backend.upstream('m0'));
      await harness.router.setRoute({
        ...base,
        maintenance: { message: 'Back at <14:00> & "soon"', retryAfterSec: 600, allow: ['10.0.0.0/8'] },
      });
      const json = await send('http', 'maint.test', '/orders', { headers: { accept: 'application/json' } });
      assert.equal(json.status, 503);
      assert.equal(json.headers['retry-after'], '600');
      assert.equal(json.headers['content-type'], 'application/json; charset=utf-8');
      assert.equal(json.headers['cache-control'], 'no-store');
      const body = JSON.parse(json.text) as { error: { code: string; message: string } };
      assert.deepEqual([body.error.code, body.error.message], ['MAINTENANCE', 'Back at <14:00> & "soon"']);
      const page = await send('http', 'maint.test', '/', {
        headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' },
      });
      assert.equal(page.status, 503);
      assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
      assert.ok(page.text.includes('Back at &lt;14:00&gt; &amp; &quot;soon&quot;'), page.text);
      assert.ok(!page.text.includes('<14:00>'), 'the message must not become markup');
      // No Accept at all: JSON, the API client's default.
      assert.equal((await send('http', 'maint.test', '/')).headers['content-type'], 'application/json; charset=utf-8');
      // Health checks probe the instance itself, not the router: the release stays healthy in maintenance.
      const direct = await fetch(`http://127.0.0.1:${backend.port}/health`);
      assert.equal(direct.status, 200);
      await direct.text();

      // The team's own page, and this test's address (127.0.0.1) allowed: it reaches the release.
      const own = '<!doctype html><title>Ours</title><p>Upgrading.</p>';
      await harness.router.setRoute({
        ...base,
        maintenance: { message: '', retryAfterSec: 60, allow: ['10.0.0.0/8'], page: own },
      });
      const ownPage = await send('http', 'maint.test', '/', { headers: { accept: 'text/html' } });
      assert.deepEqual([ownPage.status, ownPage.text, ownPage.headers['retry-after']], [503, own, '60']);
      await harness.router.setRoute({
        ...base,
        maintenance: { message: '', retryAfterSec: 60, allow: ['127.0.0.1/32'] },
      });
      assert.equal(seen(await send('http', 'maint.test', '/allowed')).url, '/allowed');

      await harness.router.setRoute(base);
      assert.equal(seen(await send('http', 'maint.test', '/after')).url, '/after');
    });

    test('paths', async () => {
      const [web, api, v2] = [await backends.start('web'), await backends.start('api'), await backends.start('v2')];
      await harness.router.setRoute(route('paths-web', ['shop.test'], web.upstream('w0')));
      await harness.router.setRoute(
        route('paths-api', [], api.upstream('a0'), { paths: [{ host: 'shop.test', prefix: '/api', strip: true }] }),
      );
      await harness.router.setRoute(
        route('paths-v2', [], v2.upstream('v0'), { paths: [{ host: 'shop.test', prefix: '/api/v2', strip: false }] }),
      );
      const cases: [string, string, string][] = [
        ['/api/users?q=1', 'api', '/users?q=1'],
        ['/api', 'api', '/'],
        ['/api?q=1', 'api', '/?q=1'],
        ['/apix', 'web', '/apix'],
        ['/api/v2/items', 'v2', '/api/v2/items'],
        ['/api/v2', 'v2', '/api/v2'],
        ['/api/v20', 'api', '/v20'],
        ['/', 'web', '/'],
        // Absolute-form (RFC 9112 §3.2.2), which a server must accept: routed and forwarded by its path.
        ['http://shop.test/api/users?q=1', 'api', '/users?q=1'],
        ['http://SHOP.test:80/api/v2/items', 'v2', '/api/v2/items'],
        ['http://shop.test/apix', 'web', '/apix'],
        ['http://shop.test', 'web', '/'],
      ];
      for (const [target, backend, url] of cases) {
        const answer = seen(await send('http', 'shop.test', target));
        assert.deepEqual([answer.backend, answer.url], [backend, url], target);
      }
    });

    test('pathForms', async () => {
      const [web, api, strip] = [
        await backends.start('forms-web'),
        await backends.start('forms-api'),
        await backends.start('forms-strip'),
      ];
      await harness.router.setRoute(route('forms-web', ['forms.test'], web.upstream('w0')));
      await harness.router.setRoute(
        route('forms-api', [], api.upstream('a0'), { paths: [{ host: 'forms.test', prefix: '/api', strip: false }] }),
      );
      await harness.router.setRoute(
        route('forms-strip', [], strip.upstream('s0'), {
          paths: [{ host: 'forms.test', prefix: '/strip', strip: true }],
        }),
      );
      const cases: [string, string, string][] = [
        // Another spelling of /api reaches the api service, and the api sees the target as the client wrote it.
        ['/%61pi/x', 'forms-api', '/%61pi/x'],
        ['//api/x', 'forms-api', '//api/x'],
        ['/static/../api/x', 'forms-api', '/static/../api/x'],
        ['/./api', 'forms-api', '/./api'],
        ['/api/.', 'forms-api', '/api/.'],
        ['/api%2Fx', 'forms-api', '/api%2Fx'],
        // And what only looks like /api does not: the host's own service answers it.
        ['/api/../admin', 'forms-web', '/api/../admin'],
        ['/api/%2e%2e/admin?q=1', 'forms-web', '/api/%2e%2e/admin?q=1'],
        ['/api%3Fx', 'forms-web', '/api%3Fx'],
        // A stripped prefix is cut from the normalised path, escaped again; the query is kept as written.
        ['/strip/a/../b?q=/../x', 'forms-strip', '/b?q=/../x'],
        ['/%73trip/a%20b%7Ec', 'forms-strip', '/a%20b~c'],
        ['//strip//x', 'forms-strip', '/x'],
        ['/strip/%2e%2e', 'forms-web', '/strip/%2e%2e'],
      ];
      for (const [target, backend, url] of cases) {
        const answer = seen(await send('http', 'forms.test', target));
        assert.deepEqual([answer.backend, answer.url], [backend, url], target);
      }
      for (const target of ['/../api', '/api/../..', '/%2e%2e/api', '/strip/..%2F..', '/api%zz', '/api%00x']) {
        const answer = await send('http', 'forms.test', target);
        assert.equal(answer.status, 400, `${target}: ${answer.text}`);
        assert.ok(!answer.text.includes('"backend"'), `${target} reached no service`);
      }
    });

    test('maxBody', async () => {
      const backend = await backends.start('body');
      await harness.router.setRoute(route('body', ['body.test'], backend.upstream('b0'), { maxBodyBytes: 1024 }));
      const small = seen(await send('http', 'body.test', '/up', { method: 'POST', body: Buffer.alloc(512, 1) }));
      assert.equal(small.bodyBytes, 512);
      const big = await send('http', 'body.test', '/up', { method: 'POST', body: Buffer.alloc(2048, 1) });
      assert.equal(big.status, 413);
      const chunked = await send('http', 'body.test', '/up', {
        method: 'POST',
        body: Buffer.alloc(4096, 1),
        chunked: true,
      });
      assert.equal(chunked.status, 413);
      // A client that asks first is refused before it sends a byte, and a body that fits is let through.
      assert.deepEqual(await statusesWithExpect('body.test', 2048), [413]);
      assert.deepEqual(await statusesWithExpect('body.test', 512), [100, 200]);
    });
  });
}
