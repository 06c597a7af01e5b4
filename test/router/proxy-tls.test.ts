import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Agent, request } from 'undici';
import type { ServiceRoute, TlsRoute } from '../../src/router/index.js';
import { ProxyRouter } from '../../src/router/proxy/proxy-router.js';
import { TestCertificateAuthority, type IssuedCertificate } from '../support/test-certificates.js';
import { route, startSampleApp, type SampleApp } from './proxy-fixtures.js';

/**
 * HTTPS at the edge in the embedded proxy: one TLS listener, a certificate
 * per service chosen by SNI, plain HTTP redirected (308) for the hosts that
 * have one, HSTS on HTTPS answers only, and a certificate swapped by a route
 * change without cutting an open connection. Real TLS: certificates from a
 * throwaway CA made with openssl, clients that trust only that CA.
 */
let dir: string;
let ca: TestCertificateAuthority;
let shopCert: IssuedCertificate;
let blogCert: IssuedCertificate;
let proxy: ProxyRouter;
let app: SampleApp;

const withTls = (r: ServiceRoute, cert: IssuedCertificate, hsts?: string): ServiceRoute => {
  const t: TlsRoute = { certificates: [{ hosts: r.hosts, certPem: cert.certPem, keyPem: cert.keyPem }] };
  if (hsts !== undefined) t.hsts = hsts;
  return { ...r, tls: t };
};

/** One TLS handshake with this SNI; resolves with the served leaf, or rejects when the handshake fails. */
function handshake(servername: string | undefined): Promise<{ serial: string; socket: tls.TLSSocket }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port: proxy.tlsAddress?.port ?? 0,
      ca: ca.caPem,
      ...(servername === undefined ? {} : { servername }),
      // Hostname checks are undici's job below; here only the chain and which leaf came.
      checkServerIdentity: () => undefined,
    });
    socket.once('secureConnect', () => {
      const peer = socket.getPeerX509Certificate();
      resolve({ serial: peer?.serialNumber ?? '', socket });
    });
    socket.once('error', reject);
  });
}

function httpsAgent(servername: string): Agent {
  return new Agent({ connect: { ca: ca.caPem, servername } });
}

async function get(
  scheme: 'http' | 'https',
  host: string,
  urlPath = '/',
  dispatcher?: Agent,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  const port = scheme === 'https' ? proxy.tlsAddress?.port : proxy.address.port;
  const response = await request(`${scheme}://127.0.0.1:${port}${urlPath}`, {
    headers: { host },
    ...(dispatcher === undefined ? {} : { dispatcher }),
  });
  return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-proxy-tls-'));
  ca = TestCertificateAuthority.create(dir);
  shopCert = ca.issue(['shop.test', 'www.shop.test']);
  blogCert = ca.issue(['blog.test']);
  app = await startSampleApp('v1');
  proxy = await ProxyRouter.listen({
    host: '127.0.0.1',
    port: 0,
    https: { host: '127.0.0.1', port: 0 },
    redirectHttp: true,
  });
  await proxy.setRoute(
    withTls(route('shop', ['shop.test', 'www.shop.test'], 'r1', [app.upstream('shop-0')]), shopCert),
  );
  await proxy.setRoute(withTls(route('blog', ['blog.test'], 'r1', [app.upstream('blog-0')]), blogCert, 'max-age=600'));
  await proxy.setRoute(route('plain', ['plain.test'], 'r1', [app.upstream('plain-0')]));
});

after(async () => {
  await proxy.close();
  await app.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('the embedded proxy over TLS', () => {
  it('serves each host the certificate of its service, by SNI', async () => {
    for (const [host, cert] of [
      ['shop.test', shopCert],
      ['www.shop.test', shopCert],
      ['blog.test', blogCert],
    ] as const) {
      const { serial, socket } = await handshake(host);
      socket.destroy();
      assert.equal(serial, cert.serial, host);
    }
  });

  it('fails the handshake for a name without a certificate, and without SNI', async () => {
    await assert.rejects(handshake('plain.test'));
    await assert.rejects(handshake('unknown.test'));
    await assert.rejects(handshake(undefined));
  });

  it('proxies HTTPS requests with X-Forwarded-Proto https, to a client checking the chain and the name', async () => {
    const agent = httpsAgent('shop.test');
    try {
      const response = await get('https', 'shop.test', '/headers', agent);
      assert.equal(response.status, 200);
      const seen = JSON.parse(response.text) as { headers: Record<string, string> };
      assert.equal(seen.headers['x-forwarded-proto'], 'https');
      assert.equal(seen.headers.host, 'shop.test');
    } finally {
      await agent.close();
    }
  });

  it('redirects plain HTTP for a host with a certificate (308, same path and query), but not ACME challenges', async () => {
    const redirected = await get('http', 'Shop.Test:8080', '/cart?item=1&n=2');
    assert.equal(redirected.status, 308);
    assert.equal(redirected.headers.location, `https://shop.test:${proxy.tlsAddress?.port}/cart?item=1&n=2`);
    const challenge = await get('http', 'shop.test', '/.well-known/acme-challenge/token123');
    assert.notEqual(challenge.status, 308, 'an HTTP-01 challenge is answered over plain HTTP');
  });

  it('redirects only the hosts a certificate covers (an ACME order still pending leaves its host in the clear)', async () => {
    // As ServerCertificates routes a service whose second host has no certificate yet: one per obtained host.
    await proxy.setRoute({
      ...route('acme', ['ready.test', 'pending.test'], 'r1', [app.upstream('acme-0')]),
      tls: { certificates: [{ hosts: ['ready.test'], certPem: shopCert.certPem, keyPem: shopCert.keyPem }] },
    });
    try {
      assert.equal((await get('http', 'ready.test', '/')).status, 308);
      const pending = await get('http', 'pending.test', '/');
      assert.equal(pending.status, 200, 'no redirect to a name the proxy has no certificate for');
    } finally {
      await proxy.setRoute({ ...route('acme', ['ready.test', 'pending.test'], 'r1', []), target: null });
    }
  });

  it('serves a host without a certificate in the clear, and refuses it over HTTPS (421)', async () => {
    const plain = await get('http', 'plain.test', '/');
    assert.equal(plain.status, 200);
    // Raw: an HTTP client would take the name for SNI from the Host header; here SNI and Host differ on purpose.
    const { socket } = await handshake('shop.test');
    const head = await new Promise<string>((resolve, reject) => {
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (text += chunk));
      socket.once('end', () => resolve(text));
      socket.once('error', reject);
      socket.end('GET / HTTP/1.1\r\nHost: plain.test\r\nConnection: close\r\n\r\n');
    });
    assert.match(head, /^HTTP\/1\.1 421 /);
  });

  it('adds Strict-Transport-Security to HTTPS answers of a service that sets it, and only there', async () => {
    const agent = httpsAgent('blog.test');
    try {
      const secure = await get('https', 'blog.test', '/', agent);
      assert.equal(secure.headers['strict-transport-security'], 'max-age=600');
    } finally {
      await agent.close();
    }
    const shop = httpsAgent('shop.test');
    try {
      assert.equal((await get('https', 'shop.test', '/', shop)).headers['strict-transport-security'], undefined);
    } finally {
      await shop.close();
    }
  });

  it('swaps a certificate on a route change: new handshakes get it, an open connection keeps working', async () => {
    const agent = new Agent({ connect: { ca: ca.caPem, servername: 'shop.test' }, connections: 1 });
    try {
      assert.equal((await get('https', 'shop.test', '/', agent)).status, 200);
      const renewed = ca.issue(['shop.test', 'www.shop.test']);
      await proxy.setRoute(
        withTls(route('shop', ['shop.test', 'www.shop.test'], 'r1', [app.upstream('shop-0')]), renewed),
      );
      const { serial, socket } = await handshake('shop.test');
      socket.destroy();
      assert.equal(serial, renewed.serial);
      // The same kept-alive connection (one connection in the agent) still answers.
      for (let i = 0; i < 5; i++) assert.equal((await get('https', 'shop.test', '/', agent)).status, 200);
      shopCert = renewed;
    } finally {
      await agent.close();
    }
  });

  it("refuses a key that is not the certificate's, and keeps serving the one it had", async () => {
    const other = ca.issue(['shop.test']);
    const broken: ServiceRoute = {
      ...route('shop', ['shop.test', 'www.shop.test'], 'r1', [app.upstream('shop-0')]),
      tls: { certificates: [{ hosts: ['shop.test'], certPem: other.certPem, keyPem: blogCert.keyPem }] },
    };
    await assert.rejects(proxy.setRoute(broken), (error: Error) => {
      assert.match(error.message, /service 'shop'.*do not load/);
      assert.ok(!error.message.includes('PRIVATE KEY'), 'the message must not carry the key');
      return true;
    });
    const { serial, socket } = await handshake('shop.test');
    socket.destroy();
    assert.equal(serial, shopCert.serial);
    assert.ok(new X509Certificate(shopCert.certPem).checkHost('shop.test'));
  });
});
