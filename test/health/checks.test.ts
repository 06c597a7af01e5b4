import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { commandCheck } from '../../src/health/command-check.js';
import { httpCheck } from '../../src/health/http-check.js';
import type { CheckTarget } from '../../src/health/index.js';
import { tcpCheck } from '../../src/health/tcp-check.js';

function targetFor(port: number): CheckTarget {
  return { instanceId: 'web/r1/blue-0', host: '127.0.0.1', port, vars: { version: 'v1', slot: 'blue', instance: '0' } };
}

/** A port nothing listens on: bind, read, close. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('http check', () => {
  let server: http.Server;
  let port: number;

  before(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/health') return void res.end('ok');
      if (req.url === '/broken') {
        res.statusCode = 500;
        return void res.end('boom');
      }
      if (req.url === '/redirect') {
        res.writeHead(302, { location: '/health' });
        return void res.end();
      }
      // /hang never answers.
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  const check = (path: string, timeoutMs = 1000, expectStatus: [number, number] = [200, 399]) =>
    httpCheck(targetFor(port), { check: { type: 'http', path, expectStatus }, timeoutMs });

  it('is ok when the status is in the expected range', async () => {
    const result = await check('/health');
    assert.equal(result.ok, true);
    assert.match(result.detail, /^HTTP 200 in \d+ ms$/);
    assert.equal((await check('/redirect')).ok, true, '302 is inside 200-399');
  });

  it('fails on a status outside the range, and says which', async () => {
    const result = await check('/broken');
    assert.equal(result.ok, false);
    assert.equal(result.detail, 'HTTP 500 (expected 200-399)');
    assert.equal((await check('/health', 1000, [204, 204])).ok, false);
  });

  it('fails when the app does not answer within the timeout', async () => {
    const started = Date.now();
    const result = await check('/hang', 200);
    assert.equal(result.ok, false);
    assert.equal(result.detail, 'no answer within 200 ms');
    assert.ok(Date.now() - started < 1000, 'gave up at the timeout');
  });

  it('fails when nothing listens', async () => {
    const result = await httpCheck(targetFor(await closedPort()), {
      check: { type: 'http', path: '/', expectStatus: [200, 399] },
      timeoutMs: 1000,
    });
    assert.equal(result.ok, false);
    assert.equal(result.detail, 'connect ECONNREFUSED');
  });
});

describe('tcp check', () => {
  it('is ok when the port accepts a connection', async () => {
    const server = net.createServer((socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const result = await tcpCheck(targetFor((server.address() as AddressInfo).port), { timeoutMs: 1000 });
      assert.equal(result.ok, true);
      assert.match(result.detail, /^connected in \d+ ms$/);
    } finally {
      server.close();
    }
  });

  it('fails when the port is closed', async () => {
    const result = await tcpCheck(targetFor(await closedPort()), { timeoutMs: 1000 });
    assert.equal(result.ok, false);
    assert.equal(result.detail, 'connect ECONNREFUSED');
  });
});

describe('command check', () => {
  const run = (command: string, timeoutMs = 2000) =>
    commandCheck(targetFor(4321), { check: { type: 'command', command, inheritEnv: [] }, timeoutMs });

  it('is ok on exit 0, with the instance in its env', async () => {
    const result = await run('test "$PORT:$HOST:$VERSION:$SLOT:$INSTANCE" = "4321:127.0.0.1:v1:blue:0"');
    assert.equal(result.ok, true, result.detail);
    assert.match(result.detail, /^exit 0 in \d+ ms$/);
  });

  it('fails on a non-zero exit and keeps the tail of its output', async () => {
    const result = await run('echo "db not ready" >&2; exit 1');
    assert.equal(result.ok, false);
    assert.equal(result.detail, 'exit 1: db not ready');
  });

  it('is killed at the timeout, with everything it started', async () => {
    const started = Date.now();
    const result = await run('sleep 30 & sleep 30; wait', 200);
    assert.equal(result.ok, false);
    assert.equal(result.detail, 'timed out after 200 ms');
    assert.ok(Date.now() - started < 1500, 'gave up at the timeout');
  });

  it('does not wait for a background process that keeps its output open', async () => {
    const started = Date.now();
    const result = await run('sleep 2 & exit 0', 5000);
    assert.equal(result.ok, true, result.detail);
    assert.ok(Date.now() - started < 1500);
  });
});
