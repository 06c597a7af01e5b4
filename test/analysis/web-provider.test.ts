import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { MeasurementContext } from '../../src/analysis/index.js';
import { parseJsonPath, readJsonPath } from '../../src/core/analysis/json-path.js';
import { WebProvider, type WebProviderConfig } from '../../src/analysis/web-provider.js';

/**
 * Against an in-test stats server: the value at the JSON path of a 2xx
 * answer; the request's method, headers and body as configured; non-2xx,
 * non-JSON, a missing path and a silent server as errors.
 */
const STATS = { errors: { rate: 0.02, byCode: { '503': 4 } }, latency: [{ p95: 180 }, { p95: 240 }], ok: true };

let server: Server;
let base: string;
let lastRequest: { method: string; headers: IncomingMessage['headers']; body: string } | null = null;
const context: MeasurementContext = {
  service: 'web',
  canaryReleaseId: 'web-2',
  stableReleaseId: 'web-1',
  windowStart: 0,
};

function web(path: string, overrides: Partial<WebProviderConfig> = {}): WebProvider {
  return new WebProvider({
    url: `${base}${path}`,
    method: 'GET',
    headers: {},
    body: null,
    jsonPath: '$',
    timeoutMs: 2000,
    ...overrides,
  });
}

before(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      lastRequest = { method: req.method ?? '', headers: req.headers, body };
      const json = (status: number, value: unknown) =>
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
      if (req.url === '/stats') json(200, STATS);
      else if (req.url === '/query' && req.method === 'POST')
        json(200, { echo: JSON.parse(body) as unknown, auth: req.headers.authorization });
      else if (req.url === '/down') json(503, { error: 'maintenance' });
      else if (req.url === '/html') res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>hello</h1>');
      else if (req.url === '/hostile')
        // A metric endpoint that writes to the operator's terminal: clear the screen, retitle the window,
        // set the clipboard (OSC 52), overwrite the line with a carriage return and flip it with a bidi override.
        res
          .writeHead(500, { 'content-type': 'text/plain' })
          .end('boom\u001b[2J\u001b]0;owned\u0007\u001b]52;c;ZWNobyBwd25lZA==\u0007\r✓ passed\u202e\u009b31m');
      else if (req.url === '/silent') {
        // Never answers.
      } else json(404, { error: 'not found' });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

after(() => {
  server.closeAllConnections();
  server.close();
});

describe('web provider', () => {
  it('reads the value at the JSON path of the answer', async () => {
    assert.deepEqual(await web('/stats', { jsonPath: '$.errors.rate' }).measure(context), {
      value: 0.02,
      message: '$.errors.rate = 0.02',
    });
    assert.equal(
      ((await web('/stats', { jsonPath: "$.errors.byCode['503']" }).measure(context)) as { value: unknown }).value,
      4,
    );
    assert.equal(
      ((await web('/stats', { jsonPath: '$.latency[1].p95' }).measure(context)) as { value: unknown }).value,
      240,
    );
    // The whole document, for conditions like result.ok && result.errors.rate < 0.05.
    assert.deepEqual(((await web('/stats').measure(context)) as { value: unknown }).value, STATS);
    assert.equal(lastRequest?.method, 'GET');
    assert.equal(lastRequest?.headers.accept, 'application/json');
  });

  it('POSTs the configured body and headers, as JSON unless told otherwise', async () => {
    const provider = web('/query', {
      method: 'POST',
      headers: { Authorization: 'Bearer t0k3n' },
      body: '{"q":"errors"}',
      jsonPath: '$.echo.q',
    });
    assert.deepEqual(await provider.measure(context), { value: 'errors', message: '$.echo.q = "errors"' });
    assert.equal(lastRequest?.headers['content-type'], 'application/json');
    assert.equal(lastRequest?.headers.authorization, 'Bearer t0k3n');
    assert.equal(lastRequest?.body, '{"q":"errors"}');
  });

  it('reports a non-2xx answer, a body that is not JSON and a missing path', async () => {
    assert.deepEqual(await web('/down').measure(context), {
      error: `${base}/down answered HTTP 503: {"error":"maintenance"}`,
    });
    assert.deepEqual(await web('/html').measure(context), {
      error: `${base}/html answered with a body that is not JSON: <h1>hello</h1>`,
    });
    assert.deepEqual(await web('/stats', { jsonPath: '$.errors.ratio' }).measure(context), {
      error: `no value at $.errors.ratio in the answer of ${base}/stats`,
    });
    assert.deepEqual(await web('/stats', { jsonPath: '$.latency[5].p95' }).measure(context), {
      error: `no value at $.latency[5] in the answer of ${base}/stats`,
    });
  });

  it('writes out the control characters of a hostile answer instead of passing them to a terminal', async () => {
    const result = await web('/hostile').measure(context);
    assert.ok('error' in result, JSON.stringify(result));
    // eslint-disable-next-line no-control-regex -- the test is that none is left
    assert.doesNotMatch(result.error, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202e]/);
    assert.match(result.error, /answered HTTP 500: boom\\u001b\[2J\\u001b\]0;owned\\u0007/);
    // The carriage return is whitespace, flattened to a space like a newline: it cannot go back over the line.
    assert.match(result.error, / ✓ passed\\u202e\\u009b31m$/);
  });

  it('reports a server that does not answer in time, and one that is not there', async () => {
    assert.deepEqual(await web('/silent', { timeoutMs: 200 }).measure(context), {
      error: `${base}/silent did not answer within 200ms`,
    });
    const result = await new WebProvider({
      url: 'http://127.0.0.1:1/x',
      method: 'GET',
      headers: {},
      body: null,
      jsonPath: '$',
      timeoutMs: 2000,
    }).measure(context);
    assert.ok(
      'error' in result && /^cannot reach http:\/\/127\.0\.0\.1:1\/x: .*ECONNREFUSED/.test(result.error),
      JSON.stringify(result),
    );
  });
});

describe('json paths', () => {
  it('parses names, quoted names and indexes, and refuses anything else', () => {
    assert.deepEqual(parseJsonPath('$.a.b[0][\'c-d\']["e"]'), { ok: true, segments: ['a', 'b', 0, 'c-d', 'e'] });
    assert.deepEqual(parseJsonPath('$'), { ok: true, segments: [] });
    for (const bad of ['a.b', '$.', '$..a', '$.a[*]', '$[-1]', "$['a]"])
      assert.equal(parseJsonPath(bad).ok, false, bad);
  });

  it('does not read inherited properties or string indexes', () => {
    assert.deepEqual(readJsonPath({}, ['constructor']), { found: false, missing: '$.constructor' });
    assert.deepEqual(readJsonPath({ a: 'text' }, ['a', 0]), { found: false, missing: '$.a[0]' });
    assert.deepEqual(readJsonPath({ a: null }, ['a']), { found: true, value: null });
  });
});
