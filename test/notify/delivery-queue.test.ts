import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import pino from 'pino';
import { parseConfig } from '../../src/config/load-config.js';
import type { Notification } from '../../src/notify/notification.js';
import { Notifier } from '../../src/notify/notifier.js';
import type { WebhookPayload } from '../../src/notify/webhook-payload.js';
import { closedPortUrl, Receiver, type Answer } from './receiver.js';

const SECRET = 'whsec-never-in-a-log-4f9a';
const PATH_TOKEN = 'T0/B0/xoxTOKENneverInALog';

/** Every log line the notifier wrote, as text: the secrets must not be in any of them. */
const logLines: string[] = [];
const logger = pino(
  { level: 'debug' },
  new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk.toString());
      done();
    },
  }),
);

function notification(seq: number, kind: Notification['kind'] = 'started'): Notification {
  return {
    id: `evt-${seq}`,
    kind,
    event: kind === 'completed' ? 'deploy.succeeded' : 'deploy.started',
    service: 'web',
    releaseId: `web-${seq}`,
    version: `v${seq}`,
    operationId: `op-${seq}`,
    message: `step ${seq}`,
    level: 'info',
    at: Date.now(),
    data: null,
  };
}

/** A notifier with one target, configured through cutover.yaml as a user would. */
function notifierFor(url: string, settings: string): Notifier {
  const config = parseConfig(
    `services: { web: { command: node server.js } }
notifications:
  - { type: webhook, url: "${url}", secret: "${SECRET}", ${settings} }
`,
    null,
    { env: {} },
  );
  return new Notifier(config.notifications, { logger });
}

const started: { receiver: Receiver | null; notifier: Notifier }[] = [];
async function setUp(answer: Answer, settings: string): Promise<{ receiver: Receiver; notifier: Notifier }> {
  const receiver = await Receiver.start(answer, `/hooks/${PATH_TOKEN}`);
  const notifier = notifierFor(receiver.url, settings);
  started.push({ receiver, notifier });
  return { receiver, notifier };
}

const gaps = (times: number[]): number[] => times.slice(1).map((t, i) => t - times[i]!);

describe('delivery to one target: retries, backoff, order and the bounded queue', () => {
  after(async () => {
    for (const { receiver, notifier } of started) {
      await notifier.close();
      await receiver?.close();
    }
  });

  it('retries a 503 with a backoff that doubles, then goes on in order', async () => {
    const { receiver, notifier } = await setUp(
      (n) => ({ status: n < 3 ? 503 : 200 }),
      'retries: 3, backoff: 100ms, timeout: 1s',
    );
    notifier.notify(notification(1));
    notifier.notify(notification(2));
    const all = await receiver.waitFor(5);
    assert.deepEqual(
      all.map((r) => r.headers['x-cutover-delivery']),
      ['evt-1', 'evt-1', 'evt-1', 'evt-1', 'evt-2'],
    );
    const [first, second, third] = gaps(all.slice(0, 4).map((r) => r.at));
    assert.ok(
      first! >= 80 && second! >= 160 && third! >= 320,
      `waits of ${first}, ${second}, ${third} ms: 100, 200, 400`,
    );
    assert.ok(third! < 1000, 'the doubling starts from the configured backoff');
    // Each attempt is signed anew, with its own timestamp.
    assert.ok(all.every((r) => typeof r.headers['x-cutover-signature'] === 'string'));
  });

  it('gives up after `retries` more attempts and delivers the next notification', async () => {
    const { receiver, notifier } = await setUp(
      (_n, got) => ({ status: (got.json as WebhookPayload).id === 'evt-1' ? 500 : 200 }),
      'retries: 2, backoff: 20ms, timeout: 1s',
    );
    notifier.notify(notification(1));
    notifier.notify(notification(2));
    const all = await receiver.waitFor(4);
    assert.deepEqual(
      all.map((r) => r.headers['x-cutover-delivery']),
      ['evt-1', 'evt-1', 'evt-1', 'evt-2'],
    );
    assert.ok(logLines.some((line) => line.includes('dropped after 3 attempt(s): HTTP 500')));
  });

  it('does not retry a 4xx: the receiver refused the notification itself', async () => {
    const { receiver, notifier } = await setUp(() => ({ status: 400 }), 'retries: 3, backoff: 20ms, timeout: 1s');
    notifier.notify(notification(7));
    await receiver.waitFor(1);
    await notifier.idle();
    assert.equal(receiver.received.length, 1);
    assert.ok(logLines.some((line) => line.includes('evt-7') && line.includes('dropped after 1 attempt(s): HTTP 400')));
  });

  it('waits as long as a 429 Retry-After asks, not just the backoff', async () => {
    const { receiver, notifier } = await setUp(
      (n) => (n === 0 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 }),
      'retries: 1, backoff: 10ms, timeout: 1s',
    );
    notifier.notify(notification(1));
    const [first, second] = await receiver.waitFor(2);
    assert.ok(second!.at - first!.at >= 950, `retried ${second!.at - first!.at} ms later`);
  });

  it('keeps at most queue_limit waiting: past it the oldest is dropped with a warning', async () => {
    const { receiver, notifier } = await setUp(
      (n) => ({ status: 200, delayMs: n === 0 ? 300 : 0 }),
      'retries: 0, timeout: 2s, queue_limit: 2',
    );
    for (let seq = 1; seq <= 5; seq++) notifier.notify(notification(seq));
    await notifier.idle();
    assert.deepEqual(
      receiver.received.map((r) => r.headers['x-cutover-delivery']),
      ['evt-1', 'evt-4', 'evt-5'],
      'evt-1 was in flight; of 2, 3, 4 and 5 waiting behind it the two oldest made room',
    );
    assert.equal(logLines.filter((line) => line.includes('is full (2): dropped the oldest')).length, 2);
  });

  it('only sends the kinds a target subscribed to', async () => {
    const { receiver, notifier } = await setUp(() => ({ status: 200 }), 'events: [completed]');
    notifier.notify(notification(1, 'started'));
    notifier.notify(notification(2, 'completed'));
    await notifier.idle();
    assert.deepEqual(
      receiver.received.map((r) => r.headers['x-cutover-event']),
      ['completed'],
    );
  });

  it('sends a URL user and password as basic auth, as curl would, and never logs the password', async () => {
    // undici drops a URL's user info: a receiver behind basic auth (a CI server's hook) got no credentials,
    // answered 401, and a 4xx is not retried, so every notification was lost.
    const password = 'p@ss:hook-pw-never-logged';
    const receiver = await Receiver.start((_n, got) => ({
      status: got.headers.authorization === `Basic ${Buffer.from(`hooks:${password}`).toString('base64')}` ? 200 : 401,
    }));
    const url = receiver.url.replace('http://', `http://hooks:${encodeURIComponent(password)}@`);
    const notifier = notifierFor(url, 'retries: 0');
    started.push({ receiver, notifier });
    const linesBefore = logLines.length;
    notifier.notify(notification(1));
    notifier.notify(notification(2));
    await notifier.idle();
    assert.equal(receiver.received.length, 2);
    assert.ok(
      receiver.received.every((r) => r.headers.authorization?.startsWith('Basic ')),
      'every delivery carried the credentials',
    );
    const lines = logLines.slice(linesBefore);
    assert.ok(!lines.some((line) => line.includes('dropped after')), lines.join(''));
    for (const line of logLines) assert.ok(!line.includes(encodeURIComponent(password)) && !line.includes(password));
  });

  it('closing gives a backed-up queue at most the timeout, then drops the rest', async () => {
    const { notifier } = await setUp(
      () => ({ status: 200, delayMs: 5_000 }),
      'retries: 5, backoff: 10ms, timeout: 250ms',
    );
    for (let seq = 1; seq <= 3; seq++) notifier.notify(notification(seq));
    const begun = Date.now();
    await notifier.close();
    const took = Date.now() - begun;
    assert.ok(took >= 240 && took < 600, `close took ${took} ms`);
    assert.ok(logLines.some((line) => line.includes('notification(s) to webhook-1 not sent: the server stopped')));
  });

  it('never writes the secret or the URL token to the log, even for a target that is down', async () => {
    const down = (await closedPortUrl()).replace('/hooks/down', `/hooks/${PATH_TOKEN}?token=${PATH_TOKEN}`);
    const notifier = notifierFor(down, 'retries: 1, backoff: 10ms, timeout: 500ms');
    started.push({ receiver: null, notifier });
    notifier.notify(notification(1));
    await notifier.idle();
    const failures = logLines.filter((line) => line.includes('ECONNREFUSED'));
    assert.ok(failures.length >= 2, 'the refused attempts were logged');
    assert.ok(
      logLines.some(
        (line) => line.includes('webhook-1 (webhook http://127.0.0.1:') && line.includes('/[redacted]?[redacted])'),
      ),
    );
    for (const line of logLines) {
      assert.ok(!line.includes(SECRET), `the secret leaked: ${line}`);
      assert.ok(!line.includes('xoxTOKENneverInALog'), `the URL token leaked: ${line}`);
    }
  });
});
