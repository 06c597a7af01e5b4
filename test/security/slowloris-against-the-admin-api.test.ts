import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { startHarness, type Harness } from '../support/cutover-harness.js';
import { openSocket } from './raw-http.js';

/**
 * Finding 9 of issue 12 on the other listener: the admin API and dashboard
 * (`server.admin`, which a team may open to reach the dashboard) kept
 * Node's defaults, so a client sending its head a byte at a time held a
 * socket for 60 to 90 s, and there was no bound on how many. Now the same
 * `server.client_timeouts.headers` and `server.max_connections` as the
 * proxy's apply there. 2 s and 40 here, so the test costs seconds.
 */
const HEAD_TIMEOUT_MS = 2_000;
const MAX_CONNECTIONS = 40;

let h: Harness;

before(async () => {
  h = await startHarness({
    instances: 1,
    serverYaml: `  client_timeouts: { headers: ${HEAD_TIMEOUT_MS}ms }\n  max_connections: ${MAX_CONNECTIONS}\n`,
  });
});

after(async () => h.close());

interface SlowClient {
  socket: Socket;
  answer: string;
  closedAfterMs: number | null;
}

function trickle(socket: Socket): SlowClient {
  const client: SlowClient = { socket, answer: '', closedAfterMs: null };
  const opened = performance.now();
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => (client.answer += chunk));
  socket.on('error', () => {});
  const timer = setInterval(() => socket.write('X-Slow: a\r\n'), 300);
  socket.on('close', () => {
    clearInterval(timer);
    client.closedAfterMs = performance.now() - opened;
  });
  socket.write('GET /healthz HTTP/1.1\r\nHost: admin\r\n');
  return client;
}

describe('slowloris against the admin API', () => {
  it('cuts connections that trickle their heads after client_timeouts.headers, serving others meanwhile', async () => {
    const slow: SlowClient[] = [];
    for (let i = 0; i < 20; i++) slow.push(trickle(await openSocket(h.adminPort)));
    const answer = await request(`${h.server.adminUrl}/healthz`, { signal: AbortSignal.timeout(5_000) });
    assert.equal(answer.statusCode, 200, 'a normal client is served while they trickle');
    await answer.body.text();
    const deadline = performance.now() + HEAD_TIMEOUT_MS + 5_000;
    while (slow.some((client) => client.closedAfterMs === null) && performance.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 100));
    for (const client of slow) {
      assert.notEqual(client.closedAfterMs, null, 'the server closed a trickling connection');
      assert.ok(
        (client.closedAfterMs as number) < HEAD_TIMEOUT_MS + 2_500,
        `closed after ${Math.round(client.closedAfterMs as number)} ms`,
      );
      assert.match(client.answer, /^HTTP\/1\.1 408 /, 'with 408, as on the proxy');
    }
  });

  it('closes a connection past server.max_connections as soon as it is accepted', async () => {
    const held: Socket[] = [];
    try {
      for (let i = 0; i < MAX_CONNECTIONS; i++) held.push(await openSocket(h.adminPort));
      const extra = await openSocket(h.adminPort);
      const closed = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 1_500);
        extra.on('error', () => {});
        extra.on('close', () => {
          clearTimeout(timer);
          resolve(true);
        });
        extra.write('GET /healthz HTTP/1.1\r\nHost: admin\r\n\r\n');
      });
      extra.destroy();
      assert.ok(closed, `connection ${MAX_CONNECTIONS + 1} was closed at once`);
    } finally {
      for (const socket of held) socket.destroy();
    }
  });
});
