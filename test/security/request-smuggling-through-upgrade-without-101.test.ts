import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import { ProxyRouter } from '../../src/router/proxy/proxy-router.js';
import { route, sleep } from '../router/proxy-fixtures.js';
import { exchange, openSocket, startRecordingBackend, statusCodes, type RecordingBackend } from './raw-http.js';

/**
 * Finding 5 of issue 12: a request with `Connection: Upgrade` to a backend
 * that answers 200 (not 101) had its socket piped raw to the backend, so the
 * next request on that socket reached the backend as written by the client
 * (a forged Host, X-Forwarded-For, X-Forwarded-Proto), unrouted and
 * uncounted. Now the proxy pipes only after a 101; any other answer is
 * relayed as a plain response that closes the connection.
 */
let backend: RecordingBackend;
let wsBackend: RecordingBackend;
let proxy: ProxyRouter;

const UPGRADE = ['GET /chat HTTP/1.1', 'Host: app.test', 'Connection: Upgrade', 'Upgrade: websocket', '', ''].join(
  '\r\n',
);
const SMUGGLED = [
  'GET /admin HTTP/1.1',
  'Host: forged.internal',
  'X-Forwarded-For: 10.9.9.9',
  'X-Forwarded-Proto: https',
  '',
  '',
].join('\r\n');

before(async () => {
  // No 'upgrade' listener: node:http answers an upgrade request like any other, 200 and keep-alive.
  backend = await startRecordingBackend();
  wsBackend = await startRecordingBackend();
  const wss = new WebSocketServer({ server: wsBackend.server });
  wss.on('connection', (socket) => socket.on('message', (data: Buffer) => socket.send(`echo:${data.toString()}`)));
  proxy = await ProxyRouter.listen({ host: '127.0.0.1', port: 0 });
  await proxy.setRoute(route('app', ['app.test'], 'r-app', [{ id: 'app-0', host: '127.0.0.1', port: backend.port }]));
  await proxy.setRoute(route('ws', ['ws.test'], 'r-ws', [{ id: 'ws-0', host: '127.0.0.1', port: wsBackend.port }]));
});

after(async () => {
  await proxy.close();
  await backend.close();
  await wsBackend.close();
});

function smuggledReachedBackend(): boolean {
  return backend.seen.some(
    (seen) =>
      seen.headers.host === 'forged.internal' ||
      seen.url === '/admin' ||
      String(seen.headers['x-forwarded-for']).includes('10.9.9.9'),
  );
}

describe('an upgrade the backend refuses (200, not 101)', () => {
  it('relays the 200 as a response that closes the connection; a request pipelined behind it never reaches the backend', async () => {
    const before = backend.seen.length;
    const { text, closedByPeer } = await exchange(proxy.address.port, UPGRADE + SMUGGLED);
    assert.deepEqual(statusCodes(text), [200], `one answer, to the upgrade request: ${text.slice(0, 300)}`);
    assert.match(text, /\r\nconnection: close\r\n/i);
    assert.ok(closedByPeer, 'the proxy closed the connection after the refused upgrade');
    await sleep(200);
    assert.equal(backend.seen.length, before + 1, 'the backend saw the upgrade request only');
    assert.equal(smuggledReachedBackend(), false);
  });

  it('gives a request sent after the answer on the same socket nothing to reach: the connection is over', async () => {
    const before = backend.seen.length;
    const socket = await openSocket(proxy.address.port);
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', () => {});
    const closed = once(socket, 'close');
    socket.write(UPGRADE);
    while (!text.includes('\r\n\r\n')) await sleep(10);
    if (!socket.destroyed && socket.writable) socket.write(SMUGGLED);
    await closed;
    await sleep(200);
    assert.deepEqual(statusCodes(text), [200]);
    assert.equal(backend.seen.length, before + 1);
    assert.equal(smuggledReachedBackend(), false);
    const r = proxy.counters().find((c) => c.releaseId === 'r-app');
    assert.equal(r?.openUpgrades, 0, 'a refused upgrade is not counted as an open tunnel');
  });

  it('routes and rewrites a fresh connection as usual afterwards', async () => {
    const { text } = await exchange(
      proxy.address.port,
      'GET /next HTTP/1.1\r\nHost: app.test\r\nX-Forwarded-For: 10.9.9.9\r\nConnection: close\r\n\r\n',
    );
    assert.deepEqual(statusCodes(text), [200]);
    const last = backend.seen[backend.seen.length - 1];
    assert.equal(last?.url, '/next');
    assert.equal(last?.headers['x-forwarded-for'], '127.0.0.1');
  });
});

describe('an upgrade the backend accepts (101)', () => {
  it('is piped both ways as before', async () => {
    const socket = new WebSocket(`ws://127.0.0.1:${proxy.address.port}/`, { headers: { host: 'ws.test' } });
    await once(socket, 'open');
    const reply = once(socket, 'message');
    socket.send('ping');
    assert.equal(String((await reply)[0]), 'echo:ping');
    socket.close();
    await once(socket, 'close');
  });
});
