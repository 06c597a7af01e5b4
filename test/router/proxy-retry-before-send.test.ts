import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import diagnosticsChannel from 'node:diagnostics_channel';
import { once } from 'node:events';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Agent, request } from 'undici';
import type { Upstream } from '../../src/router/index.js';
import type { InstanceEjectionEvent } from '../../src/router/proxy/passive-health.js';
import { ProxyRouter } from '../../src/router/proxy/proxy-router.js';
import { freePort, route } from './proxy-fixtures.js';

/**
 * Issue 14, item 5: a request that never reached a backend is never failed
 * for it. A connection refused (or a kept-alive connection closed before a
 * byte of the request went out) sends the request to another instance of the
 * release, whatever its method and body; a request an instance may have read
 * is never sent twice; an instance that keeps refusing is ejected. Real
 * servers on loopback; which instance saw what is counted by request id.
 */
interface Echo {
  server: Server;
  upstream: (id: string) => Upstream;
  /** Requests seen per x-request-id, counted when their head arrives. */
  seen: Map<string, number>;
}

let proxy: ProxyRouter;
let alive: Echo;
let closing: Echo;
let deadPort: number;
const events: InstanceEjectionEvent[] = [];
const agent = new Agent({ connections: 4 });

/** Connect attempts and request heads the proxy's undici made, by upstream port (the client's own connections too, filtered by port). */
const connectAttempts = new Map<number, number>();
const headsSent: { port: number; method: string }[] = [];
const onBeforeConnect = (message: unknown): void => {
  const port = Number((message as { connectParams: { port: string } }).connectParams.port);
  connectAttempts.set(port, (connectAttempts.get(port) ?? 0) + 1);
};
const onSendHeaders = (message: unknown): void => {
  const { request: sent, socket } = message as { request: { method: string }; socket: Socket };
  headsSent.push({ port: socket.remotePort ?? 0, method: sent.method });
  headSentListener?.();
};
let headSentListener: (() => void) | null = null;

/**
 * Echoes the sha-256 of the body it read. `/die` reads the whole body, then
 * drops the connection without answering (the request was received: it must
 * not be sent again).
 */
function startEcho(): Promise<Echo> {
  const seen = new Map<string, number>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const id = String(req.headers['x-request-id']);
    seen.set(id, (seen.get(id) ?? 0) + 1);
    const hash = createHash('sha256');
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
    });
    if (req.url === '/early') {
      // Answers without reading the body, and closes: the proxy cannot finish the upload.
      res.writeHead(413, { connection: 'close' });
      res.end('too large');
      return;
    }
    req.on('end', () => {
      if (req.url === '/die') {
        req.socket.destroy();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ digest: hash.digest('hex'), bytes, method: req.method }));
    });
  });
  server.listen(0, '127.0.0.1');
  return once(server, 'listening').then(() => {
    const port = (server.address() as { port: number }).port;
    return { server, seen, upstream: (id) => ({ id, host: '127.0.0.1', port }) };
  });
}

/** Waits for a condition the test cannot await directly; bounded so a broken proxy fails the test instead of hanging it. */
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await delay(10);
  assert.ok(condition(), 'condition not reached');
}

function digestOf(body: Buffer | string): string {
  return createHash('sha256').update(body).digest('hex');
}

async function send(host: string, method: string, id: string, body: Buffer | string, path = '/') {
  const response = await request(`http://127.0.0.1:${proxy.address.port}${path}`, {
    method,
    headers: { host, 'x-request-id': id, 'content-type': 'application/json' },
    body,
    dispatcher: agent,
  });
  const text = await response.body.text();
  return { status: response.statusCode, text };
}

before(async () => {
  [alive, closing] = await Promise.all([startEcho(), startEcho()]);
  deadPort = await freePort();
  diagnosticsChannel.subscribe('undici:client:beforeConnect', onBeforeConnect);
  diagnosticsChannel.subscribe('undici:client:sendHeaders', onSendHeaders);
  proxy = await ProxyRouter.listen({
    host: '127.0.0.1',
    port: 0,
    // Passive health off except where a test is about ejection: the refusing instance must keep being picked.
    upstreamPolicy: { passiveHealth: { consecutiveFailures: 0 } },
    services: {
      eject: { passiveHealth: { consecutiveFailures: 3, ejectionMs: 60_000, maxEjectionMs: 60_000 } },
      abandon: { passiveHealth: { consecutiveFailures: 1, ejectionMs: 60_000, maxEjectionMs: 60_000 } },
    },
    onInstanceEjection: (event) => events.push(event),
  });
});

after(async () => {
  diagnosticsChannel.unsubscribe('undici:client:beforeConnect', onBeforeConnect);
  diagnosticsChannel.unsubscribe('undici:client:sendHeaders', onSendHeaders);
  await agent.close();
  await proxy.close();
  for (const echo of [alive, closing]) {
    echo.server.closeAllConnections();
    echo.server.close();
  }
});

describe('a refused connection', () => {
  it('sends POST, PATCH and DELETE with a JSON body to the other instance: each answered once, body intact', async () => {
    await proxy.setRoute(
      route('json', ['json.test'], 'r-json', [{ id: 'dead', host: '127.0.0.1', port: deadPort }, alive.upstream('a')]),
    );
    const refusedBefore = connectAttempts.get(deadPort) ?? 0;
    const methods = ['POST', 'PATCH', 'DELETE', 'POST'];
    for (let i = 0; i < 8; i++) {
      const method = methods[Math.floor(i / 2)] as string;
      const body = JSON.stringify({ order: i, items: ['a', 'b'], note: 'x'.repeat(i * 100) });
      const response = await send('json.test', method, `json-${i}`, body);
      assert.equal(response.status, 200, `${method} #${i}: ${response.text}`);
      assert.deepEqual(JSON.parse(response.text), { digest: digestOf(body), bytes: Buffer.byteLength(body), method });
      assert.equal(alive.seen.get(`json-${i}`), 1, `${method} #${i} reached the live instance once`);
    }
    // Round robin: every other request went to the refusing instance first.
    assert.equal((connectAttempts.get(deadPort) ?? 0) - refusedBefore, 4);
    const counters = proxy.counters().find((c) => c.releaseId === 'r-json');
    assert.equal(counters?.status['2xx'], 8);
    assert.equal(counters?.status.error, 0);
  });

  it('sends a 256 KiB PUT to the other instance, concurrently too: each answered once, body intact', async () => {
    await proxy.setRoute(
      route('big', ['big.test'], 'r-big', [{ id: 'dead', host: '127.0.0.1', port: deadPort }, alive.upstream('a')]),
    );
    const refusedBefore = connectAttempts.get(deadPort) ?? 0;
    const bodies = Array.from({ length: 6 }, () => randomBytes(256 * 1024));
    const responses = await Promise.all(bodies.map((body, i) => send('big.test', 'PUT', `big-${i}`, body)));
    responses.forEach((response, i) => {
      assert.equal(response.status, 200, `PUT #${i}: ${response.text}`);
      const answer = JSON.parse(response.text) as { digest: string; bytes: number };
      assert.equal(answer.digest, digestOf(bodies[i] as Buffer), `PUT #${i} body intact`);
      assert.equal(answer.bytes, 256 * 1024);
      assert.equal(alive.seen.get(`big-${i}`), 1, `PUT #${i} reached the live instance once`);
    });
    assert.ok((connectAttempts.get(deadPort) ?? 0) - refusedBefore >= 1, 'some PUT was refused first');
    assert.equal(proxy.counters().find((c) => c.releaseId === 'r-big')?.status.error, 0);
  });
});

describe('a request an instance may have read', () => {
  it('is not sent again when the instance dies after reading it: the instance saw it once, the client gets 502', async () => {
    // Two instance ids on the same server: a resend to "the other instance" would be counted here a second time.
    await proxy.setRoute(route('die', ['die.test'], 'r-die', [alive.upstream('die-a'), alive.upstream('die-b')]));
    const cases = [
      { method: 'POST', body: JSON.stringify({ charge: 42 }) },
      { method: 'PUT', body: randomBytes(256 * 1024) },
      { method: 'PATCH', body: JSON.stringify({ op: 'inc' }) },
    ];
    for (const [i, { method, body }] of cases.entries()) {
      const response = await send('die.test', method, `die-${i}`, body, '/die');
      assert.equal(response.status, 502, `${method} #${i}`);
      assert.equal((JSON.parse(response.text) as { error: { code: string } }).error.code, 'UPSTREAM_FAILED');
      assert.equal(alive.seen.get(`die-${i}`), 1, `${method} #${i} was sent exactly once`);
    }
    const counters = proxy.counters().find((c) => c.releaseId === 'r-die');
    assert.equal(counters?.status.error, 3);
    // The client connections are still usable after those 502s.
    assert.equal((await send('die.test', 'POST', 'die-after', '{}')).status, 200);
  });
});

describe('an upload the instance stopped taking', () => {
  it('answers the client and leaves its connection fit for the next request', async () => {
    await proxy.setRoute(route('early', ['early.test'], 'r-early', [alive.upstream('early-a')]));
    const single = new Agent({ connections: 1 });
    try {
      for (let i = 0; i < 3; i++) {
        const big = await request(`http://127.0.0.1:${proxy.address.port}/early`, {
          method: 'POST',
          headers: { host: 'early.test', 'x-request-id': `early-${i}` },
          body: randomBytes(4 * 1024 * 1024),
          dispatcher: single,
        });
        await big.body.text();
        assert.notEqual(big.statusCode, 200, `upload #${i}`);
        // The same (only) client connection: the rest of the upload was read and discarded, not left in the way.
        const next = await request(`http://127.0.0.1:${proxy.address.port}/`, {
          method: 'POST',
          headers: { host: 'early.test', 'x-request-id': `after-early-${i}` },
          body: '{}',
          dispatcher: single,
          signal: AbortSignal.timeout(10_000),
        });
        await next.body.text();
        assert.equal(next.statusCode, 200, `request after upload #${i}`);
      }
    } finally {
      await single.close();
    }
  });
});

describe('a client that abandons its upload', () => {
  it('is not the instance fault: the request is not sent again and nothing is ejected', async () => {
    await proxy.setRoute(
      route('abandon', ['abandon.test'], 'r-abandon', [alive.upstream('abandon-a'), alive.upstream('abandon-b')]),
    );
    for (let i = 0; i < 3; i++) {
      const id = `abandon-${i}`;
      const client = httpRequest({
        host: '127.0.0.1',
        port: proxy.address.port,
        method: 'POST',
        headers: { host: 'abandon.test', 'x-request-id': id, 'content-length': 100_000 },
      });
      client.on('error', () => {});
      client.write(randomBytes(1000));
      await until(() => alive.seen.has(id));
      client.destroy();
      await until(() => proxy.counters().find((c) => c.releaseId === 'r-abandon')?.inFlight === 0);
      assert.equal(alive.seen.get(id), 1, `upload #${i} went to one instance, once`);
    }
    // One failure ejects an instance of this service: a client's abort counted as the instance's would show here.
    assert.deepEqual(
      events.filter((e) => e.releaseId === 'r-abandon'),
      [],
    );
    assert.equal((await send('abandon.test', 'POST', 'abandon-after', '{}')).status, 200);
  });
});

describe('a kept-alive connection closed before a byte of the request went out', () => {
  it('sends a POST whose body had not left yet to the other instance', async () => {
    await proxy.setRoute(route('idle', ['idle.test'], 'r-idle', [closing.upstream('closing'), alive.upstream('a')]));
    // Round robin: the first request opens a kept-alive connection to `closing`, the second goes to `a`.
    for (let i = 0; i < 2; i++) assert.equal((await send('idle.test', 'GET', `warm-${i}`, '')).status, 200);
    assert.equal(closing.seen.get('warm-0'), 1);
    const closingPort = closing.upstream('x').port;

    // The POST's head reaches the proxy, which gives it to the idle connection to `closing` and waits for the body.
    const headSent = new Promise<void>((resolve) => (headSentListener = resolve));
    const body = JSON.stringify({ slow: true, data: 'y'.repeat(2000) });
    const client = httpRequest({
      host: '127.0.0.1',
      port: proxy.address.port,
      method: 'POST',
      headers: { host: 'idle.test', 'x-request-id': 'slow-post', 'content-length': Buffer.byteLength(body) },
    });
    const answered = once(client, 'response') as Promise<[IncomingMessage]>;
    // A bound, not a timing assertion: a proxy that answers or fails instead of resending must fail the test, not hang it.
    const settledEarly = Promise.race([
      answered.then(
        () => 'answered',
        () => 'failed',
      ),
      delay(10_000, 'nothing', { ref: false }),
    ]);
    client.flushHeaders();
    assert.equal(await Promise.race([headSent.then(() => 'sent'), settledEarly]), 'sent');
    headSentListener = null;
    assert.deepEqual(headsSent.at(-1), { port: closingPort, method: 'POST' }, 'given to the connection to closing');
    // `closing` closes its idle connection (as a keep-alive timeout does): nothing of the POST was written to it.
    const resent = new Promise<void>((resolve) => (headSentListener = resolve));
    closing.server.closeIdleConnections();
    assert.equal(await Promise.race([resent.then(() => 'resent'), settledEarly]), 'resent');
    headSentListener = null;
    assert.deepEqual(
      headsSent.at(-1),
      { port: alive.upstream('x').port, method: 'POST' },
      'given to a, before its body',
    );
    client.end(body);

    const [response] = await answered;
    let text = '';
    for await (const chunk of response) text += String(chunk);
    assert.equal(response.statusCode, 200, text);
    assert.deepEqual(JSON.parse(text), { digest: digestOf(body), bytes: Buffer.byteLength(body), method: 'POST' });
    assert.equal(closing.seen.get('slow-post'), undefined, 'closing never saw it');
    assert.equal(alive.seen.get('slow-post'), 1, 'a saw it once');
    assert.equal(proxy.counters().find((c) => c.releaseId === 'r-idle')?.status.error, 0);
  });
});

describe('an instance that keeps refusing', () => {
  it('is ejected after its consecutive failures and gets no more connection attempts; no request fails', async () => {
    await proxy.setRoute(
      route('eject', ['eject.test'], 'r-eject', [
        { id: 'refusing', host: '127.0.0.1', port: deadPort },
        alive.upstream('eject-a'),
      ]),
    );
    const refusedBefore = connectAttempts.get(deadPort) ?? 0;
    for (let i = 0; i < 12; i++) {
      const body = JSON.stringify({ n: i });
      const response = await send('eject.test', 'POST', `eject-${i}`, body);
      assert.equal(response.status, 200, `POST #${i}`);
      assert.equal(JSON.parse(response.text).digest, digestOf(body));
    }
    const ejected = events.filter((e) => e.type === 'instance.ejected' && e.upstreamId === 'refusing');
    assert.equal(ejected.length, 1);
    assert.equal(ejected[0]?.reason, 'ECONNREFUSED');
    assert.equal(ejected[0]?.failures, 3);
    // Round robin sends it every other request until its third refusal; after that, none.
    assert.equal((connectAttempts.get(deadPort) ?? 0) - refusedBefore, 3);
    assert.equal(proxy.counters().find((c) => c.releaseId === 'r-eject')?.status.error, 0);
  });
});
