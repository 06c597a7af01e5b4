import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { request } from 'undici';
import { ProxyRouter } from '../../src/router/proxy/proxy-router.js';
import { freePort, route } from '../router/proxy-fixtures.js';
import { exchange, startRecordingBackend, type RecordingBackend } from './raw-http.js';

/**
 * Finding 10 of issue 12: the proxy's 502 body told any client the instance
 * id and `connect ECONNREFUSED 127.0.0.1:<port>`. Now a client gets a plain
 * page (JSON, or HTML when Accept prefers it) with a request id; the detail
 * goes to the log line carrying the same id.
 */
let proxy: ProxyRouter;
let deadPort: number;
let silent: RecordingBackend;
const logLines: Record<string, unknown>[] = [];

before(async () => {
  deadPort = await freePort();
  // Answers nothing at all: the response-head timeout makes a 504.
  silent = await startRecordingBackend(() => {});
  const capture = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n'))
        if (line.trim() !== '') logLines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  proxy = await ProxyRouter.listen({
    host: '127.0.0.1',
    port: 0,
    logger: pino({ level: 'info' }, capture),
    services: { slow: { headersTimeoutMs: 300 } },
  });
  await proxy.setRoute(
    route('secret-billing', ['dead.test'], 'r-secret-7', [
      { id: 'secret-billing/r-secret-7/blue-0', host: '127.0.0.1', port: deadPort },
    ]),
  );
  await proxy.setRoute(
    route('slow', ['slow.test'], 'r-slow', [{ id: 'slow/r-slow/blue-0', host: '127.0.0.1', port: silent.port }]),
  );
});

after(async () => {
  await proxy.close();
  await silent.close();
});

async function get(host: string, headers: Record<string, string> = {}) {
  const response = await request(`http://127.0.0.1:${proxy.address.port}/`, { headers: { host, ...headers } });
  return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
}

/** Nothing a client could learn the topology from: instance or release ids, service names, addresses, ports, error codes of the OS. */
function assertNoInternals(text: string): void {
  assert.doesNotMatch(text, /secret|blue-0|r-slow|ECONNREFUSED|connect |127\.0\.0\.1/);
  assert.ok(!text.includes(String(deadPort)), 'no port');
  assert.ok(!text.includes(String(silent.port)), 'no port');
}

function logLineOf(requestId: string): Record<string, unknown> | undefined {
  return logLines.find((line) => line.requestId === requestId);
}

describe('the page a client gets when an instance fails', () => {
  it('is JSON by default: the code, a fixed sentence and a request id, also in X-Request-Id; the detail is in the log', async () => {
    const response = await get('dead.test');
    assert.equal(response.status, 502);
    assert.equal(response.headers['content-type'], 'application/json; charset=utf-8');
    assertNoInternals(response.text);
    const requestId = response.headers['x-request-id'] as string;
    assert.match(requestId, /^[0-9a-f-]{36}$/);
    assert.deepEqual(JSON.parse(response.text), {
      error: { code: 'UPSTREAM_FAILED', message: 'The service failed to answer.', requestId },
    });
    const line = logLineOf(requestId);
    assert.ok(line, 'a log line carries the request id');
    assert.match(String(line.msg), /secret-billing\/r-secret-7\/blue-0.*ECONNREFUSED/);
  });

  it('is HTML for a browser, with the request id and nothing else of the failure', async () => {
    const response = await get('dead.test', {
      accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
    });
    assert.equal(response.status, 502);
    assert.equal(response.headers['content-type'], 'text/html; charset=utf-8');
    assertNoInternals(response.text);
    const requestId = response.headers['x-request-id'] as string;
    assert.ok(response.text.includes(requestId));
    assert.match(response.text, /<h1>502 Bad Gateway<\/h1>/);
    assert.ok(logLineOf(requestId));
  });

  it('keeps a sane X-Request-Id from the client and replaces one that is not', async () => {
    const kept = await get('dead.test', { 'x-request-id': 'trace-42.abc:7' });
    assert.equal(kept.headers['x-request-id'], 'trace-42.abc:7');
    assert.equal((JSON.parse(kept.text) as { error: { requestId: string } }).error.requestId, 'trace-42.abc:7');
    for (const bad of ['<script>alert(1)</script>', 'x'.repeat(300), 'a b']) {
      const replaced = await get('dead.test', { 'x-request-id': bad, accept: 'text/html' });
      assert.match(replaced.headers['x-request-id'] as string, /^[0-9a-f-]{36}$/);
      assert.ok(!replaced.text.includes(bad));
    }
  });

  it('is as plain for a 504 when the instance does not answer in time', async () => {
    const response = await get('slow.test');
    assert.equal(response.status, 504);
    assertNoInternals(response.text);
    assert.equal((JSON.parse(response.text) as { error: { code: string } }).error.code, 'UPSTREAM_TIMEOUT');
    assert.match(String(logLineOf(response.headers['x-request-id'] as string)?.msg), /slow\/r-slow\/blue-0/);
  });

  it('is as plain on the raw socket of a refused upgrade', async () => {
    const { text } = await exchange(
      proxy.address.port,
      'GET / HTTP/1.1\r\nHost: dead.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n',
    );
    assert.match(text, /^HTTP\/1\.1 502 /);
    assertNoInternals(text);
    assert.match(text, /\r\nx-request-id: [0-9a-f-]{36}\r\n/);
  });

  it('does not echo the Host of an unknown service, nor a Host that is no host name', async () => {
    const unknown = await get('nobody-here.test');
    assert.equal(unknown.status, 404);
    assert.ok(!unknown.text.includes('nobody'));
    // Markup is no host name (RFC 9112 §3.2): refused before any service is looked up, and not echoed either.
    const markup = await get('<b>nobody</b>.test');
    assert.equal(markup.status, 400);
    assert.ok(!markup.text.includes('nobody'));
  });
});
