import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { OperationRecord } from '../../src/store/records.js';
import type { WebhookPayload } from '../../src/notify/webhook-payload.js';
import { startHarness, type Harness } from '../support/cutover-harness.js';
import { operate } from '../support/operations.js';
import { closedPortUrl, Receiver } from './receiver.js';

const TIMEOUT_MS = 300;
/** The slow receiver answers long after the timeout. */
const SLOW_ANSWER_MS = 2_000;
/**
 * Process start and health-check polling (every 100 ms) make two identical deploys differ by up to
 * this much on a loaded machine. A deploy that waited for these receivers would take seconds longer:
 * 3 events per deploy, each 2 × 300 ms on the slow one alone.
 */
const JITTER_MS = 400;
/** Timers fire late on a loaded machine; a close that waited for the slow receiver's backlog would take seconds. */
const CLOSE_SLACK_MS = 1_000;
const STRATEGY = '{ type: blue-green, auto_switch: true, timeout: 20s, scale_down_delay: 10m }';

function durationOf(operation: OperationRecord): number {
  assert.equal(operation.outcome, 'succeeded', JSON.stringify(operation.error));
  return operation.finishedAt! - operation.startedAt;
}

const mean = (values: number[]): number => values.reduce((sum, v) => sum + v, 0) / values.length;

// The acceptance line: receivers that are down, slow or failing do not hold
// a deploy up by more than the notify timeout, and failed deliveries are
// retried with backoff behind the deploy's back.
describe('receivers that are down, slow or failing', () => {
  let baseline: Harness;
  let notified: Harness;
  let slow: Receiver;
  let flaky: Receiver;
  const baselineMs: number[] = [];
  const notifiedMs: number[] = [];

  before(async () => {
    slow = await Receiver.start(() => ({ status: 200, delayMs: SLOW_ANSWER_MS }));
    flaky = await Receiver.start((n) => ({ status: n < 2 ? 500 : 200 }));
    const down = await closedPortUrl();
    const target = (name: string, url: string, retries: number): string =>
      `  - { type: webhook, name: ${name}, url: "${url}", secret: s3cr3t-for-tests, timeout: ${TIMEOUT_MS}ms, retries: ${retries}, backoff: 50ms }\n`;
    [baseline, notified] = await Promise.all([
      startHarness({ strategy: STRATEGY, healthInterval: '100ms' }),
      startHarness({
        strategy: STRATEGY,
        healthInterval: '100ms',
        topLevelYaml: `notifications:\n${target('down', down, 3)}${target('slow', slow.url, 3)}${target('flaky', flaky.url, 3)}`,
      }),
    ]);
    // Interleaved, so both see the same machine load; v1 warms each up and is not measured.
    for (const version of ['v1', 'v2', 'v3', 'v4']) {
      const a = await operate(baseline.client, '/api/v1/services/web/deploy', { version });
      const b = await operate(notified.client, '/api/v1/services/web/deploy', { version });
      if (version === 'v1') continue;
      baselineMs.push(durationOf(a.operation));
      notifiedMs.push(durationOf(b.operation));
    }
  });
  after(async () => {
    await Promise.all([baseline?.close(), notified?.close()]);
    await Promise.all([slow?.close(), flaky?.close()]);
  });

  it('deploys take no longer than without notifications, give or take the notify timeout', () => {
    assert.ok(
      mean(notifiedMs) < mean(baselineMs) + TIMEOUT_MS + JITTER_MS,
      `with notifications ${notifiedMs.join(', ')} ms, without ${baselineMs.join(', ')} ms`,
    );
  });

  it('a receiver answering 500 gets the same delivery again after a backoff, then every event in order', async () => {
    // 4 deploys × started, switched, completed, plus the two refused attempts.
    let all = await flaky.waitFor(14);
    while (new Set(all.map((r) => r.headers['x-cutover-delivery'])).size < 12)
      all = await flaky.waitFor(all.length + 1);
    const ids = all.map((r) => r.headers['x-cutover-delivery']);
    assert.equal(ids[0], ids[1], 'the first retry resends the refused delivery');
    assert.equal(ids[1], ids[2], 'and so does the second');
    // At least once: an answer slower than the timeout (a loaded machine) is sent again, so a
    // receiver drops repeats by X-Cutover-Delivery, as this one does.
    const delivered = all
      .slice(2)
      .filter(
        (r, i, list) => i === 0 || r.headers['x-cutover-delivery'] !== list[i - 1]!.headers['x-cutover-delivery'],
      );
    const kinds = delivered.map((r) => (r.json as WebhookPayload).kind);
    assert.deepEqual(kinds, Array.from({ length: 4 }, () => ['started', 'switched', 'completed']).flat());
    const versions = delivered.map((r) => (r.json as WebhookPayload).release?.version);
    assert.deepEqual(versions, ['v1', 'v1', 'v1', 'v2', 'v2', 'v2', 'v3', 'v3', 'v3', 'v4', 'v4', 'v4']);
  });

  it('a receiver slower than the timeout is given up on after each attempt and tried again', async () => {
    const [first, second] = await slow.waitFor(2);
    assert.equal(first!.headers['x-cutover-delivery'], second!.headers['x-cutover-delivery']);
    assert.equal((first!.json as WebhookPayload).kind, 'started');
    const gap = second!.at - first!.at;
    // Nominally timeout + backoff (350 ms); measured at the receiver, which shares a busy event loop
    // with the server, so only the bound that matters is checked: no waiting for the slow answer.
    assert.ok(
      gap < SLOW_ANSWER_MS,
      `the retry came ${gap} ms after the first attempt, before the receiver's ${SLOW_ANSWER_MS} ms answer`,
    );
  });

  it('stopping the server waits for a backed-up queue no longer than the notify timeout', async () => {
    // 12 notifications × 4 attempts of 300 ms plus backoffs: about 19 s of backlog, most of it still queued.
    assert.ok(slow.received.length < 12 * 4, 'the slow receiver still has a backlog');
    const started = Date.now();
    await notified.close();
    const closeMs = Date.now() - started;
    const baselineStarted = Date.now();
    await baseline.close();
    const baselineCloseMs = Date.now() - baselineStarted;
    assert.ok(
      closeMs < baselineCloseMs + TIMEOUT_MS + CLOSE_SLACK_MS,
      `close took ${closeMs} ms, ${baselineCloseMs} ms without notifications`,
    );
  });
});
