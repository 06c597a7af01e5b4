import assert from 'node:assert/strict';
import fs from 'node:fs';
import http2 from 'node:http2';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent, request } from 'undici';
import type { ServiceRoute } from '../../src/router/index.js';
import { ProxyRouter } from '../../src/router/proxy/proxy-router.js';
import { TestCertificateAuthority, type IssuedCertificate } from '../support/test-certificates.js';
import { route, startSampleApp, type SampleApp } from './proxy-fixtures.js';

/**
 * HTTP/2 to clients on the embedded proxy's TLS listener: ALPN picks h2 for
 * clients that offer it and HTTP/1.1 for the others, on the same port, with
 * the same routing (by :authority), canary rules, counters, HSTS and
 * request bodies; a retiring proxy sends GOAWAY and finishes open streams.
 * Real TLS (a throwaway openssl CA), real node:http2 clients.
 */
let dir: string;
let ca: TestCertificateAuthority;
let cert: IssuedCertificate;
let proxy: ProxyRouter;
let v1: SampleApp;
let v2: SampleApp;

const withTls = (r: ServiceRoute): ServiceRoute => ({
  ...r,
  tls: { certificates: [{ hosts: r.hosts, certPem: cert.certPem, keyPem: cert.keyPem }], hsts: 'max-age=600' },
});

function connect(servername = 'shop.test', target = proxy): http2.ClientHttp2Session {
  const session = http2.connect(`https://127.0.0.1:${target.tlsAddress?.port}`, { ca: ca.caPem, servername });
  session.on('error', () => undefined);
  return session;
}

interface H2Answer {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: Buffer;
}

function h2Request(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  body?: Buffer[],
): Promise<H2Answer> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: body === undefined });
    const chunks: Buffer[] = [];
    let head: http2.IncomingHttpHeaders = {};
    stream.on('response', (h) => (head = h));
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve({ status: Number(head[':status']), headers: head, body: Buffer.concat(chunks) }));
    stream.on('error', reject);
    if (body !== undefined) {
      // Chunks without a declared length: HTTP/2 needs none, the upstream (HTTP/1.1) gets it chunked.
      for (const chunk of body) stream.write(chunk);
      stream.end();
    }
  });
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-proxy-h2-'));
  ca = TestCertificateAuthority.create(dir);
  cert = ca.issue(['shop.test']);
  [v1, v2] = await Promise.all([startSampleApp('v1'), startSampleApp('v2')]);
  proxy = await ProxyRouter.listen({ host: '127.0.0.1', port: 0, https: { host: '127.0.0.1', port: 0 } });
  await proxy.setRoute(withTls(route('shop', ['shop.test'], 'r1', [v1.upstream('v1-0')])));
});

after(async () => {
  await proxy.close();
  await Promise.all([v1.stop(), v2.stop()]);
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('HTTP/2 to clients on the TLS listener', () => {
  it('negotiates h2 by ALPN and routes by :authority, with HSTS and per-release counters', async () => {
    const before = proxy.counters().find((c) => c.releaseId === 'r1')?.requests ?? 0;
    const session = connect();
    try {
      const answer = await h2Request(session, { ':path': '/headers', ':authority': 'shop.test' });
      assert.equal(session.alpnProtocol, 'h2');
      assert.equal(answer.status, 200);
      assert.equal(answer.headers['strict-transport-security'], 'max-age=600');
      const seen = JSON.parse(answer.body.toString()) as { version: string; headers: Record<string, string> };
      assert.equal(seen.version, 'v1');
      assert.equal(seen.headers.host, 'shop.test', 'the upstream gets :authority as its Host header');
      assert.equal(seen.headers['x-forwarded-proto'], 'https');
      assert.ok(!Object.keys(seen.headers).some((name) => name.startsWith(':')), 'no pseudo-header reaches it');
    } finally {
      session.close();
    }
    const counted = proxy.counters().find((c) => c.releaseId === 'r1')?.requests ?? 0;
    assert.equal(counted - before, 1);
  });

  it('serves HTTP/1.1 clients on the same port', async () => {
    const agent = new Agent({ connect: { ca: ca.caPem, servername: 'shop.test' } });
    try {
      const response = await request(`https://127.0.0.1:${proxy.tlsAddress?.port}/headers`, {
        headers: { host: 'shop.test' },
        dispatcher: agent,
      });
      assert.equal(response.statusCode, 200);
      assert.equal((JSON.parse(await response.body.text()) as { version: string }).version, 'v1');
    } finally {
      await agent.close();
    }
  });

  it('streams a request body of undeclared length to the upstream, and its answer back', async () => {
    const session = connect();
    try {
      const parts = [Buffer.alloc(40_000, 'a'), Buffer.alloc(70_000, 'b'), Buffer.from('end')];
      const answer = await h2Request(
        session,
        { ':method': 'POST', ':path': '/echo', ':authority': 'shop.test', 'content-type': 'application/octet-stream' },
        parts,
      );
      assert.equal(answer.status, 200);
      assert.ok(answer.body.equals(Buffer.concat(parts)));
    } finally {
      session.close();
    }
  });

  it('joins split Cookie headers, so a cookie match rule sees every cookie', async () => {
    const base = withTls(route('shop', ['shop.test'], 'r1', [v1.upstream('v1-0')]));
    await proxy.setRoute({
      ...base,
      canary: {
        target: { releaseId: 'r2', version: 'r2', slot: 'green', upstreams: [v2.upstream('v2-0')] },
        weight: 0,
        stickiness: { by: 'cookie', name: 'cutover-id' },
        match: [{ cookie: 'beta', value: 'yes' }],
      },
    });
    const session = connect();
    try {
      // HTTP/2 lets a client send each cookie as its own header field (RFC 9113 §8.2.3).
      const split = await h2Request(session, {
        ':path': '/headers',
        ':authority': 'shop.test',
        cookie: ['session=abc', 'beta=yes'],
      });
      const seen = JSON.parse(split.body.toString()) as { version: string; headers: Record<string, string> };
      assert.equal(seen.version, 'v2', 'the match rule saw the second cookie');
      assert.equal(seen.headers.cookie, 'session=abc; beta=yes');
      const other = await h2Request(session, { ':path': '/headers', ':authority': 'shop.test', cookie: 'session=x' });
      assert.equal((JSON.parse(other.body.toString()) as { version: string }).version, 'v1');
    } finally {
      session.close();
      await proxy.setRoute(base);
    }
  });

  it('answers its own errors over h2 (no route for the host)', async () => {
    const session = connect();
    try {
      const answer = await h2Request(session, {
        ':path': '/',
        ':authority': 'nobody.test',
        accept: 'application/json',
      });
      assert.equal(answer.status, 404);
      assert.match(answer.body.toString(), /SERVICE_NOT_FOUND/);
    } finally {
      session.close();
    }
  });

  it('on retire sends GOAWAY and finishes the open stream before closing the session', async () => {
    // A generation that hands its listener over retires; the next one is another process (proxy-handover tests).
    const old = await ProxyRouter.listen({ host: '127.0.0.1', port: 0, https: { host: '127.0.0.1', port: 0 } });
    try {
      await old.setRoute(withTls(route('shop', ['shop.test'], 'r1', [v1.upstream('v1-0')])));
      const session = connect('shop.test', old);
      const goaway = new Promise<number>((resolve) => session.once('goaway', (code: number) => resolve(code)));
      const first = await h2Request(session, { ':path': '/headers', ':authority': 'shop.test' });
      assert.equal((JSON.parse(first.body.toString()) as { version: string }).version, 'v1');
      const slow = h2Request(session, { ':path': '/slow?ms=600', ':authority': 'shop.test' });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const retired = old.retire({ idleGraceMs: 200, upgradeDrainMs: 200, timeoutMs: 5_000 });
      assert.equal(await goaway, http2.constants.NGHTTP2_NO_ERROR);
      const answer = await slow;
      assert.equal(answer.status, 200, 'the stream open at the GOAWAY completes');
      assert.equal((JSON.parse(answer.body.toString()) as { version: string }).version, 'v1');
      await retired;
      assert.ok(session.closed || session.destroyed, 'the session ended once its stream did');
    } finally {
      await old.close();
    }
  });
});
