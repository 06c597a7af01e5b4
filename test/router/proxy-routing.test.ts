import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { isCutoverError } from '../../src/core/errors.js';
import { ProxyRouter } from '../../src/router/proxy/proxy-router.js';
import { route, startSampleApp, type SampleApp } from './proxy-fixtures.js';

/**
 * The proxy as a user meets it: requests routed by Host to the release of a
 * service, spread over its instances, with the forwarded headers an app
 * needs, clear answers when nothing can serve, and counters per release.
 */
let proxy: ProxyRouter;
let v1: SampleApp;
let v2: SampleApp;
/** An in-test upstream answering `/status/<code>?ms=<delay>`, for counters. */
let statusServer: Server;
let statusPort: number;
const agent = new Agent({ connections: 8 });

async function get(host: string, path = '/', headers: Record<string, string> = {}) {
  const response = await request(`http://127.0.0.1:${proxy.address.port}${path}`, {
    headers: { host, ...headers },
    dispatcher: agent,
  });
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, text, json: () => JSON.parse(text) };
}

before(async () => {
  [v1, v2] = await Promise.all([startSampleApp('v1'), startSampleApp('v2')]);
  statusServer = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const code = Number(url.pathname.split('/')[2] ?? 200);
    setTimeout(
      () => {
        res.writeHead(code, { 'content-type': 'text/plain' });
        res.end(String(code));
      },
      Number(url.searchParams.get('ms') ?? 0),
    );
  });
  statusServer.listen(0, '127.0.0.1');
  await once(statusServer, 'listening');
  statusPort = (statusServer.address() as { port: number }).port;
  proxy = await ProxyRouter.listen({ host: '127.0.0.1', port: 0 });
});

after(async () => {
  await agent.close();
  await proxy.close();
  statusServer.close();
  await Promise.all([v1.stop(), v2.stop()]);
});

describe('routing by host', () => {
  it('routes each host to its service, case-insensitively and ignoring the port', async () => {
    await proxy.setRoute(route('one', ['one.test'], 'r-one', [v1.upstream('one-0')]));
    await proxy.setRoute(route('two', ['two.test'], 'r-two', [v2.upstream('two-0')]));
    assert.equal((await get('one.test')).json().version, 'v1');
    assert.equal((await get('TWO.test:8080')).json().version, 'v2');
    assert.equal((await get('One.Test:80')).json().version, 'v1');
  });

  it('answers an unknown host 404 with a clear body while no service is default', async () => {
    const response = await get('nobody.test');
    assert.equal(response.status, 404);
    assert.equal(response.headers['content-type'], 'application/json; charset=utf-8');
    const body = response.json();
    assert.equal(body.error.code, 'SERVICE_NOT_FOUND');
    // A fixed sentence: nothing of the request or the configuration is echoed to the client.
    assert.equal(body.error.message, 'No service answers for this host.');
    assert.equal(body.error.requestId, response.headers['x-request-id']);
  });

  it('sends unknown hosts to the service marked default', async () => {
    await proxy.setRoute(route('two', ['two.test'], 'r-two', [v2.upstream('two-0')], { default: true }));
    assert.equal((await get('nobody.test')).json().version, 'v2');
    assert.equal((await get('one.test')).json().version, 'v1', 'a known host still goes to its own service');
  });

  it('refuses a route that claims a host of another service, and keeps routing as before', async () => {
    await assert.rejects(
      proxy.setRoute(route('thief', ['ONE.test'], 'r-thief', [v2.upstream('thief-0')])),
      (error: unknown) => isCutoverError(error) && error.code === 'CONFIG_INVALID',
    );
    assert.equal((await get('one.test')).json().version, 'v1');
    assert.equal(
      proxy.counters().find((c) => c.releaseId === 'r-thief'),
      undefined,
    );
  });
});

describe('spreading over instances', () => {
  it('goes round-robin across two upstreams', async () => {
    await proxy.setRoute(route('rr', ['rr.test'], 'r-rr', [v1.upstream('rr-a'), v2.upstream('rr-b')]));
    const versions: string[] = [];
    for (let i = 0; i < 6; i++) versions.push((await get('rr.test')).json().version);
    assert.deepEqual(versions, ['v1', 'v2', 'v1', 'v2', 'v1', 'v2']);
  });

  it('skips an unhealthy upstream and uses it again once healthy', async () => {
    await proxy.setRoute(route('hc', ['hc.test'], 'r-hc', [v1.upstream('hc-a'), v2.upstream('hc-b')]));
    proxy.setUpstreamHealthy('hc-a', false);
    const whileUnhealthy = new Set<string>();
    for (let i = 0; i < 6; i++) whileUnhealthy.add((await get('hc.test')).json().version);
    assert.deepEqual([...whileUnhealthy], ['v2']);
    proxy.setUpstreamHealthy('hc-a', true);
    const afterRecovery = new Set<string>();
    for (let i = 0; i < 4; i++) afterRecovery.add((await get('hc.test')).json().version);
    assert.deepEqual([...afterRecovery].sort(), ['v1', 'v2']);
    proxy.setUpstreamHealthy('unknown-id', false); // ignored: no error, nothing routed changes
    assert.equal((await get('hc.test')).status, 200);
  });

  it('answers 503 NO_UPSTREAM when no instance is healthy or no release is routed', async () => {
    await proxy.setRoute(route('down', ['down.test'], 'r-down', [v1.upstream('down-a')]));
    proxy.setUpstreamHealthy('down-a', false);
    const response = await get('down.test');
    assert.equal(response.status, 503);
    const requestId = response.headers['x-request-id'];
    assert.deepEqual(response.json(), {
      error: { code: 'NO_UPSTREAM', message: 'The service is not available right now. Try again shortly.', requestId },
    });
    await proxy.setRoute({ service: 'empty', hosts: ['empty.test'], default: false, target: null });
    const empty = await get('empty.test');
    assert.equal(empty.status, 503);
    assert.equal(empty.json().error.code, 'NO_UPSTREAM');
    assert.equal(empty.json().error.message, 'The service is not available right now. Try again shortly.');
  });
});

describe('what the upstream sees', () => {
  it('gets the original Host and X-Forwarded-For/Proto/Host', async () => {
    await proxy.setRoute(route('hdr', ['hdr.test'], 'r-hdr', [v1.upstream('hdr-a')]));
    const seen = (
      await get('Hdr.Test:8443', '/headers', { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https' })
    ).json().headers as Record<string, string>;
    assert.equal(seen.host, 'Hdr.Test:8443');
    // No trusted proxies configured: the client's own X-Forwarded-* are replaced by what the proxy saw
    // (forwarded-headers-stripped-via-connection-header.test.ts has the trusted case).
    assert.equal(seen['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen['x-forwarded-proto'], 'http', 'the proxy states the scheme it was reached with');
    assert.equal(seen['x-forwarded-host'], 'Hdr.Test:8443');
  });

  it('strips hop-by-hop headers, including those named by Connection', async () => {
    // A raw client, because fetch and undici refuse to send these headers at all.
    const body = await new Promise<string>((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port: proxy.address.port,
          path: '/headers',
          headers: {
            host: 'hdr.test',
            connection: 'keep-alive, x-private-hop',
            'keep-alive': 'timeout=5',
            'x-private-hop': 'secret',
            'proxy-authorization': 'Basic abc',
            te: 'trailers',
            'x-kept': 'yes',
          },
          agent: false,
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve(text));
        },
      );
      req.on('error', reject);
      req.end();
    });
    const seen = (JSON.parse(body) as { headers: Record<string, string> }).headers;
    assert.equal(seen['x-kept'], 'yes');
    for (const name of ['x-private-hop', 'proxy-authorization', 'te', 'keep-alive']) {
      assert.equal(seen[name], undefined, `${name} must not reach the upstream`);
    }
  });

  it('streams a request body to the upstream and the response back', async () => {
    const payload = Buffer.alloc(256 * 1024, 'cutover');
    const response = await request(`http://127.0.0.1:${proxy.address.port}/echo`, {
      method: 'POST',
      headers: { host: 'hdr.test' },
      body: payload,
      dispatcher: agent,
    });
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers['x-version'], 'v1');
    assert.ok(Buffer.from(await response.body.arrayBuffer()).equals(payload));
  });
});

describe('counters per release', () => {
  it('counts requests, status classes, proxy errors and latency', async () => {
    await proxy.setRoute(route('ctr', ['ctr.test'], 'r-ctr', [{ id: 'ctr-a', host: '127.0.0.1', port: statusPort }]));
    const codes = [200, 201, 204, 301, 404, 404, 500, 503];
    for (const code of codes) assert.equal((await get('ctr.test', `/status/${code}`)).status, code);
    assert.equal((await get('ctr.test', '/status/200?ms=60')).status, 200);
    proxy.setUpstreamHealthy('ctr-a', false);
    assert.equal((await get('ctr.test', '/status/200')).status, 503);
    proxy.setUpstreamHealthy('ctr-a', true);

    const counters = proxy.counters().find((c) => c.releaseId === 'r-ctr');
    assert.ok(counters);
    assert.equal(counters.service, 'ctr');
    assert.equal(counters.requests, 10);
    assert.deepEqual(counters.status, { '1xx': 0, '2xx': 4, '3xx': 1, '4xx': 2, '5xx': 2, error: 1 });
    assert.equal(counters.inFlight, 0);
    assert.equal(counters.openUpgrades, 0);
    assert.equal(counters.latency.count, 9, 'latency of upstream responses only');
    assert.equal(
      counters.latency.counts.reduce((a, b) => a + b, 0),
      9,
    );
    // The 60 ms request cannot land at or below 50 ms; how far above depends on the machine's load.
    const firstAbove50 = counters.latency.bucketsMs.findIndex((upper) => upper > 50);
    const above50 = counters.latency.counts.slice(firstAbove50).reduce((a, b) => a + b, 0);
    assert.ok(above50 >= 1, 'the 60 ms request lands in a bucket above 50 ms');
    assert.ok(counters.latency.sumMs >= 60);
  });
});
