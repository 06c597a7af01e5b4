import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { REQUEST_LOG_MAX_LINE } from '../../../src/router/haproxy/request-log-line.js';
import { RequestLogStream } from '../../../src/router/haproxy/request-log-stream.js';

/**
 * The stream against a Unix socket standing in for HAProxy's stats socket:
 * which command it sends, how it splits and bounds lines, and how it
 * follows again when the other side closes.
 */
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-request-log-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

interface FakeSocket {
  commands: string[];
  connections: net.Socket[];
  server: net.Server;
}

async function fakeHaproxy(socketPath: string): Promise<FakeSocket> {
  const fake: FakeSocket = { commands: [], connections: [], server: net.createServer() };
  fake.server.on('connection', (socket) => {
    fake.connections.push(socket);
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes('\n')) fake.commands.push(text.trim());
    });
  });
  await new Promise<void>((resolve) => fake.server.listen(socketPath, resolve));
  return fake;
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 3_000;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await delay(10);
  }
}

describe('RequestLogStream', () => {
  it('delivers whole lines, skips an overlong one whole, and follows again from the end after a close', async () => {
    const socketPath = path.join(dir, 'a.sock');
    const fake = await fakeHaproxy(socketPath);
    const lines: string[] = [];
    const stream = new RequestLogStream({ socketPath, onLine: (line) => lines.push(line) });
    try {
      stream.start();
      await until(() => fake.commands.length === 1, 'the first command');
      assert.equal(fake.commands[0], 'show events cutover_requests -w', 'from the start of the ring');
      const first = fake.connections[0] as net.Socket;
      first.write('one\ntw');
      first.write('o\n');
      // A line longer than the bound, in pieces, then a good one: only the good one comes through.
      first.write('x'.repeat(REQUEST_LOG_MAX_LINE));
      first.write(`${'x'.repeat(REQUEST_LOG_MAX_LINE)}\nthree\n`);
      await until(() => lines.length === 3, 'three lines');
      assert.deepEqual(lines, ['one', 'two', 'three']);

      // The worker closed the stream: it is followed again, from the ring's end (no line twice).
      first.end('four\n');
      await until(() => fake.commands.length === 2, 'a second command');
      assert.equal(fake.commands[1], 'show events cutover_requests -nw');
      assert.deepEqual(lines, ['one', 'two', 'three', 'four']);
    } finally {
      stream.close();
      fake.server.close();
    }
  });

  it('after a reload follows the new worker from its start and lets the old one go once quiet', async () => {
    const socketPath = path.join(dir, 'b.sock');
    const fake = await fakeHaproxy(socketPath);
    const lines: string[] = [];
    const stream = new RequestLogStream({ socketPath, onLine: (line) => lines.push(line) });
    try {
      stream.start();
      stream.start();
      await until(() => fake.commands.length === 1, 'the first command');
      await delay(50);
      assert.equal(fake.connections.length, 1, 'start while following does nothing');
      const old = fake.connections[0] as net.Socket;
      stream.reattach();
      await until(() => fake.commands.length === 2, 'the new worker’s command');
      assert.equal(fake.commands[1], 'show events cutover_requests -w');
      // The old worker still finishes a request, and its line counts.
      old.write('late\n');
      (fake.connections[1] as net.Socket).write('new\n');
      await until(() => lines.length === 2, 'both lines');
      assert.deepEqual([...lines].sort(), ['late', 'new']);
      await until(() => old.destroyed || old.readyState === 'closed' || old.readableEnded, 'the old stream to close');
      assert.equal(fake.connections.length, 2, 'no reconnect for a stream let go on purpose');
    } finally {
      stream.close();
      fake.server.close();
    }
  });
});
