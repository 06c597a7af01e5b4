import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ProxyRouter } from '../../src/router/proxy/proxy-router.js';
import { route } from '../router/proxy-fixtures.js';
import { exchange, startRecordingBackend, statusCodes, type RecordingBackend, type SeenRequest } from './raw-http.js';

/**
 * Finding 4 of issue 12: `Connection: close, X-Forwarded-For, ...` made the
 * proxy strip the X-Forwarded-* headers it had just added, so the backend saw
 * no client address; and anyone could claim any X-Forwarded-For, X-Real-IP or
 * Forwarded. Now the proxy's own headers always reach the backend, and a
 * client's claims pass only from `server.trusted_proxies`.
 *
 * Raw TCP, a real proxy and a real node:http backend that records what it got.
 */
let backend: RecordingBackend;
let proxy: ProxyRouter;
/** The same backend behind a proxy that trusts 127.0.0.1 (a load balancer in front of it). */
let trusting: ProxyRouter;

before(async () => {
  backend = await startRecordingBackend();
  proxy = await ProxyRouter.listen({ host: '127.0.0.1', port: 0 });
  trusting = await ProxyRouter.listen({
    host: '127.0.0.1',
    port: 0,
    trustedProxies: [{ address: '127.0.0.0', prefix: 8, family: 'ipv4' }],
  });
  const fwd = route('fwd', ['fwd.test'], 'r-fwd', [{ id: 'fwd-0', host: '127.0.0.1', port: backend.port }]);
  await proxy.setRoute(fwd);
  await trusting.setRoute(fwd);
});

after(async () => {
  await proxy.close();
  await trusting.close();
  await backend.close();
});

/** Sends one raw request through `via` and returns what the backend saw of it. */
async function through(via: ProxyRouter, head: string): Promise<SeenRequest> {
  const before = backend.seen.length;
  const { text } = await exchange(via.address.port, `${head}\r\n`);
  assert.deepEqual(statusCodes(text), [200], `the proxy answered: ${text.slice(0, 200)}`);
  assert.equal(backend.seen.length, before + 1, 'exactly one request reached the backend');
  return backend.seen[before] as SeenRequest;
}

/** Every value the backend got for a header name (raw, so a duplicate shows). */
function valuesOf(seen: SeenRequest, name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < seen.rawHeaders.length; i += 2) {
    if ((seen.rawHeaders[i] as string).toLowerCase() === name) values.push(seen.rawHeaders[i + 1] as string);
  }
  return values;
}

describe('a client naming the forwarding headers in Connection', () => {
  it('cannot strip the X-Forwarded-* and X-Real-IP the proxy adds', async () => {
    const seen = await through(
      proxy,
      [
        'GET /who HTTP/1.1',
        'Host: fwd.test',
        'Connection: close, X-Forwarded-For, X-Forwarded-Proto, X-Forwarded-Host, X-Real-IP, Forwarded',
        '',
      ].join('\r\n'),
    );
    assert.deepEqual(valuesOf(seen, 'x-forwarded-for'), ['127.0.0.1'], 'the backend learns who connected');
    assert.deepEqual(valuesOf(seen, 'x-forwarded-proto'), ['http']);
    assert.deepEqual(valuesOf(seen, 'x-forwarded-host'), ['fwd.test']);
    assert.deepEqual(valuesOf(seen, 'x-real-ip'), ['127.0.0.1']);
  });

  it('cannot strip them with a second Connection header or odd case and spacing either', async () => {
    const seen = await through(
      proxy,
      [
        'GET /who HTTP/1.1',
        'Host: fwd.test',
        'Connection: keep-alive',
        'connection:  x-FORWARDED-for ,x-forwarded-PROTO',
        'Connection: close',
        '',
      ].join('\r\n'),
    );
    assert.deepEqual(valuesOf(seen, 'x-forwarded-for'), ['127.0.0.1']);
    assert.deepEqual(valuesOf(seen, 'x-forwarded-proto'), ['http']);
  });

  it('still drops the other headers it names (they are hop-by-hop), but never Host', async () => {
    const seen = await through(
      proxy,
      ['GET /who HTTP/1.1', 'Host: fwd.test', 'X-Trace: one-hop-only', 'Connection: close, X-Trace, Host', ''].join(
        '\r\n',
      ),
    );
    assert.deepEqual(valuesOf(seen, 'x-trace'), []);
    assert.deepEqual(valuesOf(seen, 'host'), ['fwd.test']);
  });
});

describe('a client claiming another address or scheme', () => {
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

  it('is not believed when it is not a trusted proxy: the proxy states what it saw, Forwarded is dropped', async () => {
    const seen = await through(proxy, spoofed);
    assert.deepEqual(valuesOf(seen, 'x-forwarded-for'), ['127.0.0.1']);
    assert.deepEqual(valuesOf(seen, 'x-forwarded-proto'), ['http']);
    assert.deepEqual(valuesOf(seen, 'x-forwarded-host'), ['fwd.test']);
    assert.deepEqual(valuesOf(seen, 'x-real-ip'), ['127.0.0.1']);
    assert.deepEqual(valuesOf(seen, 'forwarded'), []);
  });

  it('is believed from a peer in trusted_proxies: the chain is kept and the peer appended', async () => {
    const seen = await through(trusting, spoofed);
    assert.deepEqual(valuesOf(seen, 'x-forwarded-for'), ['10.9.9.9, 127.0.0.1']);
    assert.deepEqual(valuesOf(seen, 'x-forwarded-proto'), ['https']);
    assert.deepEqual(valuesOf(seen, 'x-forwarded-host'), ['admin.internal']);
    assert.deepEqual(valuesOf(seen, 'x-real-ip'), ['10.9.9.9']);
    assert.deepEqual(valuesOf(seen, 'forwarded'), ['for=10.9.9.9;proto=https']);
  });

  it("from a trusted peer that names X-Forwarded-For in Connection, loses its chain but not the proxy's own entry", async () => {
    const seen = await through(
      trusting,
      [
        'GET /who HTTP/1.1',
        'Host: fwd.test',
        'X-Forwarded-For: 10.9.9.9',
        'Connection: close, X-Forwarded-For',
        '',
      ].join('\r\n'),
    );
    assert.deepEqual(valuesOf(seen, 'x-forwarded-for'), ['127.0.0.1']);
  });
});
