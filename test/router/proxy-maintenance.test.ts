import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Agent, Pool, request } from 'undici';
import { isCutoverError } from '../../src/core/errors.js';
import type { MaintenanceRoute, ServiceRoute } from '../../src/router/index.js';
import { ProxyRouter } from '../../src/router/proxy/proxy-router.js';
import { route, startSampleApp, type SampleApp } from './proxy-fixtures.js';

/**
 * A service in maintenance, as the embedded proxy answers it: 503 with
 * Retry-After and the operator's message (escaped on the HTML page, JSON by
 * default), the release still reached from an allowed address, and the
 * service back as soon as the route drops the maintenance. The cases nginx
 * answers the same way run against both in router-edge-contract.ts; HAProxy
 * refuses maintenance (see test/controller/logic/maintenance-logic.test.ts).
 */
let proxy: ProxyRouter;
let app: SampleApp;
const agent = new Agent({ connections: 4 });

function inMaintenance(maintenance: MaintenanceRoute): ServiceRoute {
  return { ...route('shop', ['shop.test'], 'r1', [app.upstream('shop-0')]), maintenance };
}

async function get(headers: Record<string, string> = {}, dispatcher: Agent | Pool = agent) {
  const response = await request(`http://127.0.0.1:${proxy.address.port}/`, {
    headers: { host: 'shop.test', ...headers },
    dispatcher,
  });
  return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
}

before(async () => {
  app = await startSampleApp('v1');
  proxy = await ProxyRouter.listen({ host: '127.0.0.1', port: 0 });
});

after(async () => {
  await agent.close();
  await proxy.close();
  await app.stop();
});

describe('maintenance in the embedded proxy', () => {
  it('answers 503 with Retry-After and JSON carrying the message by default', async () => {
    await proxy.setRoute(inMaintenance({ message: 'Back at 14:00 UTC', retryAfterSec: 600, allow: [] }));
    const response = await get();
    assert.equal(response.status, 503);
    assert.equal(response.headers['retry-after'], '600');
    assert.equal(response.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(response.headers['cache-control'], 'no-store');
    const body = JSON.parse(response.text) as { error: { code: string; message: string; requestId: string } };
    assert.equal(body.error.code, 'MAINTENANCE');
    assert.equal(body.error.message, 'Back at 14:00 UTC');
    assert.equal(body.error.requestId, response.headers['x-request-id']);
  });

  it('gives a browser an HTML page with the message escaped', async () => {
    await proxy.setRoute(
      inMaintenance({ message: '<script>alert(1)</script> & "soon"', retryAfterSec: 60, allow: [] }),
    );
    const response = await get({ accept: 'text/html,application/xhtml+xml,*/*;q=0.8' });
    assert.equal(response.status, 503);
    assert.equal(response.headers['retry-after'], '60');
    assert.equal(response.headers['content-type'], 'text/html; charset=utf-8');
    assert.match(response.text, /Down for maintenance/);
    assert.ok(response.text.includes('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;soon&quot;'), response.text);
    assert.ok(!response.text.includes('<script>'), 'the message must not become markup');
  });

  it('says a default sentence when the operator gave no message', async () => {
    await proxy.setRoute(inMaintenance({ message: '', retryAfterSec: 300, allow: [] }));
    const body = JSON.parse((await get()).text) as { error: { message: string } };
    assert.match(body.error.message, /maintenance/i);
  });

  it("sends the team's own page as is to a browser, and JSON to API clients", async () => {
    const page = '<!doctype html><title>Our own</title><p>We are upgrading.</p>';
    await proxy.setRoute(inMaintenance({ message: 'Upgrading', retryAfterSec: 120, allow: [], page }));
    const html = await get({ accept: 'text/html' });
    assert.equal(html.status, 503);
    assert.equal(html.headers['retry-after'], '120');
    assert.equal(html.text, page);
    const json = JSON.parse((await get({ accept: 'application/json' })).text) as { error: { message: string } };
    assert.equal(json.error.message, 'Upgrading');
  });

  it('routes a client from an allowed block to the release, and only that client', async () => {
    await proxy.setRoute(inMaintenance({ message: 'down', retryAfterSec: 60, allow: ['127.0.0.2/32', '10.0.0.0/8'] }));
    // Another loopback address stands in for an allowed client: the proxy sees the socket's peer address.
    const allowed = new Pool(`http://127.0.0.1:${proxy.address.port}`, { connections: 1, localAddress: '127.0.0.2' });
    try {
      const through = await get({}, allowed);
      assert.equal(through.status, 200);
      assert.equal((JSON.parse(through.text) as { version: string }).version, 'v1');
      assert.equal((await get()).status, 503, '127.0.0.1 is not in the allow list');
    } finally {
      await allowed.close();
    }
  });

  it('answers an Upgrade request with the same 503 on the socket', async () => {
    await proxy.setRoute(inMaintenance({ message: 'down', retryAfterSec: 42, allow: [] }));
    const socket = connect(proxy.address.port, '127.0.0.1');
    socket.write(
      'GET /ws HTTP/1.1\r\nHost: shop.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
    let text = '';
    for await (const chunk of socket) text += (chunk as Buffer).toString();
    assert.match(text, /^HTTP\/1\.1 503 /);
    assert.match(text, /retry-after: 42\r\n/);
  });

  it('refuses a malformed allow list and keeps the route that serves', async () => {
    await proxy.setRoute(inMaintenance({ message: 'down', retryAfterSec: 60, allow: [] }));
    await assert.rejects(
      proxy.setRoute(inMaintenance({ message: 'down', retryAfterSec: 60, allow: ['10.0.0.0/99'] })),
      (error) => isCutoverError(error) && error.code === 'CONFIG_INVALID',
    );
    assert.equal((await get()).status, 503);
  });

  it('serves the release again as soon as the route drops the maintenance', async () => {
    await proxy.setRoute(inMaintenance({ message: 'down', retryAfterSec: 60, allow: [] }));
    assert.equal((await get()).status, 503);
    await proxy.setRoute({ ...inMaintenance({ message: '', retryAfterSec: 1, allow: [] }), maintenance: null });
    const response = await get();
    assert.equal(response.status, 200);
    assert.equal(response.headers['retry-after'], undefined);
  });
});
