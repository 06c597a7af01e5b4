import assert from 'node:assert/strict';
import net from 'node:net';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import type { ServiceRoute } from '../../src/router/index.js';
import { ProxyRouter } from '../../src/router/proxy/proxy-router.js';
import { pathHasPrefix, servedHostsOf } from '../../src/router/route-table.js';
import { route, startSampleApp, type SampleApp } from './proxy-fixtures.js';

/**
 * Services sharing a host by path prefix (longest prefix wins, by whole
 * segments, optionally stripped), and `max_body` answered with 413 before
 * the body reaches the app. Real sample apps behind the embedded proxy.
 */
let proxy: ProxyRouter;
let web: SampleApp;
let api: SampleApp;
let admin: SampleApp;

async function get(host: string, path: string, init: { method?: 'GET' | 'POST'; body?: string | Readable } = {}) {
  const response = await request(`http://127.0.0.1:${proxy.address.port}${path}`, {
    method: init.method ?? 'GET',
    headers: { host },
    ...(init.body === undefined ? {} : { body: init.body }),
  });
  const text = await response.body.text();
  return { status: response.statusCode, text, version: response.headers['x-version'] };
}

async function served(app: SampleApp): Promise<number> {
  const response = await request(`http://127.0.0.1:${app.port}/stats`);
  return ((await response.body.json()) as { served: number }).served;
}

before(async () => {
  [web, api, admin] = await Promise.all([startSampleApp('web'), startSampleApp('api'), startSampleApp('admin')]);
  proxy = await ProxyRouter.listen({ host: '127.0.0.1', port: 0 });
  await proxy.setRoute(route('web', ['shop.test'], 'w1', [web.upstream('web-0')], { version: 'web' }));
  const apiRoute: ServiceRoute = {
    ...route('api', [], 'a1', [api.upstream('api-0')], { version: 'api' }),
    paths: [{ host: 'shop.test', prefix: '/api', strip: true }],
    maxBodyBytes: 1024,
  };
  await proxy.setRoute(apiRoute);
  const adminRoute: ServiceRoute = {
    ...route('admin', [], 'm1', [admin.upstream('admin-0')], { version: 'admin' }),
    paths: [{ host: 'shop.test', prefix: '/api/admin', strip: false }],
  };
  await proxy.setRoute(adminRoute);
});

after(async () => {
  await proxy.close();
  await Promise.all([web.stop(), api.stop(), admin.stop()]);
});

describe('path prefixes', () => {
  it('match by whole segments', () => {
    assert.equal(pathHasPrefix('/api', '/api'), true);
    assert.equal(pathHasPrefix('/api/users', '/api'), true);
    assert.equal(pathHasPrefix('/api?x=1', '/api'), true);
    assert.equal(pathHasPrefix('/apix', '/api'), false);
    assert.equal(pathHasPrefix('/API', '/api'), false);
    assert.equal(pathHasPrefix('/anything', '/'), true);
    assert.deepEqual(
      servedHostsOf({ ...route('x', ['A.test'], 'r', []), paths: [{ host: 'b.test', prefix: '/p', strip: false }] }),
      ['a.test', 'b.test'],
    );
  });

  it('route a shared host: the longest prefix wins, the host owner takes the rest', async () => {
    assert.equal((await get('shop.test', '/')).version, 'web');
    assert.equal((await get('shop.test', '/apix')).version, 'web', 'not a whole segment');
    assert.equal((await get('shop.test', '/api')).version, 'api');
    assert.equal((await get('Shop.Test:8080', '/api/orders?x=1')).version, 'api');
    assert.equal((await get('shop.test', '/api/admin/users')).version, 'admin', 'longest prefix');
    assert.equal((await get('other.test', '/api')).status, 404, 'a prefix belongs to its host only');
  });

  it('strip the prefix when asked, and keep it otherwise', async () => {
    const stripped = await get('shop.test', '/api/headers');
    assert.equal(stripped.version, undefined, 'the app answered its /headers route (no x-version header there)');
    assert.match(stripped.text, /"headers"/);
    const kept = await get('shop.test', '/api/admin/headers');
    assert.equal(kept.version, 'admin', 'the app got /api/admin/headers, its default route');
  });

  it('take an absolute-form target by its path, and refuse one naming another host than Host', async () => {
    // undici always sends origin-form; the request line is written by hand, as a proxy-minded client would.
    const send = async (target: string, host: string, body = ''): Promise<string> => {
      const socket = net.connect(proxy.address.port, '127.0.0.1');
      // Written, not ended: a client's half-close would read as going away before the answer.
      socket.write(
        `POST ${target} HTTP/1.1\r\nHost: ${host}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
      );
      let answer = '';
      for await (const chunk of socket) answer += (chunk as Buffer).toString('latin1');
      return answer;
    };
    const before = await served(api);
    // The path route's max_body holds for it: before, it went to 'web' with the whole URL.
    const big = await send('http://shop.test/api/upload', 'shop.test', 'x'.repeat(2048));
    assert.match(big, /^HTTP\/1\.1 413 /);
    assert.equal(await served(api), before);
    const small = await send('http://Shop.Test:80/api/admin/x', 'shop.test', 'x'.repeat(10));
    assert.match(small, /^HTTP\/1\.1 200 /);
    assert.match(small, /x-version: admin/i);
    for (const [target, host] of [
      ['http://other.test/api', 'shop.test'],
      ['http://user@shop.test/api', 'shop.test'],
      ['ftp://shop.test/api', 'shop.test'],
    ] as const) {
      const refused = await send(target, host);
      assert.match(refused, /^HTTP\/1\.1 400 /, target);
      assert.match(refused, /"BAD_REQUEST"/, target);
    }
  });

  it('refuse two services on the same host and prefix, keeping the routes that serve', async () => {
    const clash: ServiceRoute = {
      ...route('other', [], 'o1', [web.upstream('o-0')]),
      paths: [{ host: 'shop.test', prefix: '/api', strip: false }],
    };
    await assert.rejects(proxy.setRoute(clash), /shop\.test\/api is claimed by services 'api' and 'other'/);
    assert.equal((await get('shop.test', '/api')).version, 'api');
  });
});

describe('max_body', () => {
  it('answers 413 to a declared body over the limit before it reaches the app', async () => {
    const before = await served(api);
    const refused = await get('shop.test', '/api', { method: 'POST', body: 'x'.repeat(2048) });
    assert.equal(refused.status, 413);
    assert.match(refused.text, /PAYLOAD_TOO_LARGE/);
    assert.equal(await served(api), before, 'the app never saw it');
    const fine = await get('shop.test', '/api', { method: 'POST', body: 'x'.repeat(512) });
    assert.equal(fine.status, 200);
  });

  it('answers 413 to a chunked body once it passes the limit', async () => {
    // A stream: undici sends it chunked, with no Content-Length for the proxy to judge up front.
    const chunks = Readable.from(Array.from({ length: 8 }, () => Buffer.alloc(512, 'y')));
    const refused = await get('shop.test', '/api/echo', { method: 'POST', body: chunks });
    assert.equal(refused.status, 413);
    // Another service of the same host has no limit.
    const other = await get('shop.test', '/', { method: 'POST', body: 'z'.repeat(4096) });
    assert.equal(other.status, 200);
  });
});
