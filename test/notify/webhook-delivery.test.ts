import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { DiscordMessage } from '../../src/notify/discord-payload.js';
import type { SlackMessage } from '../../src/notify/slack-payload.js';
import type { WebhookPayload } from '../../src/notify/webhook-payload.js';
import { startHarness, type Harness } from '../support/cutover-harness.js';
import { operate } from '../support/operations.js';
import { Receiver, type Received } from './receiver.js';

const SECRET = 'whsec-test-6f1d2c9a8b7e';

/**
 * What a receiver does with a delivery, written from the documented recipe
 * and not from cutover's code: HMAC-SHA256 over `${timestamp}.${raw body}`,
 * compared in constant time, and a timestamp no more than 5 minutes off.
 */
function verifySignature(secret: string, headers: IncomingHttpHeaders, raw: Buffer, nowMs = Date.now()): boolean {
  const timestamp = headers['x-cutover-timestamp'];
  const signature = headers['x-cutover-signature'];
  if (typeof timestamp !== 'string' || typeof signature !== 'string' || !/^\d+$/.test(timestamp)) return false;
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > 300) return false;
  const expected = Buffer.from(
    `sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(raw).digest('hex')}`,
  );
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

// The runbook of a deploy seen from a receiver's side: every step arrives in
// the order it happened, signed, with what a chat message needs.
describe('notifications of a blue-green deploy, promote, rollback and abort', () => {
  let h: Harness;
  let webhook: Receiver;
  let slack: Receiver;
  let discord: Receiver;
  const hooks: Received[] = [];

  before(async () => {
    [webhook, slack, discord] = await Promise.all([
      Receiver.start(),
      Receiver.start(undefined, '/services/T0/B0/slacktoken'),
      Receiver.start(undefined, '/api/webhooks/1/discordtoken'),
    ]);
    h = await startHarness({
      strategy: '{ type: blue-green, auto_switch: false, timeout: 20s, scale_down_delay: 10m }',
      healthInterval: '100ms',
      topLevelYaml: `notifications:
  - { type: webhook, name: ops, url: "${webhook.url}", secret: "${SECRET}", timeout: 2s, retries: 2, backoff: 100ms }
  - { type: slack, url: "${slack.url}", events: [completed, rolled_back] }
  - { type: discord, url: "${discord.url}", events: [rolled_back, aborted] }
`,
    });
    const deploy = (body: object): ReturnType<typeof operate> => operate(h.client, '/api/v1/services/web/deploy', body);
    assert.equal((await deploy({ version: 'v1', autoSwitch: true })).operation.outcome, 'succeeded');
    assert.equal((await deploy({ version: 'v2' })).operation.phase, 'ready');
    assert.equal((await operate(h.client, '/api/v1/services/web/promote')).operation.outcome, 'succeeded');
    assert.equal((await operate(h.client, '/api/v1/services/web/rollback')).operation.outcome, 'succeeded');
    assert.equal((await deploy({ version: 'v3' })).operation.phase, 'ready');
    assert.equal((await operate(h.client, '/api/v1/services/web/abort')).operation.outcome, 'aborted');
    hooks.push(...(await webhook.waitFor(12)));
  });
  after(async () => {
    await h?.close();
    await Promise.all([webhook?.close(), slack?.close(), discord?.close()]);
  });

  it('the webhook receiver gets every step, in the order it happened, once', async () => {
    const payloads = hooks.map((r) => r.json as WebhookPayload);
    assert.deepEqual(
      payloads.map((p) => `${p.kind} ${p.event} ${p.release?.version}`),
      [
        'started deploy.started v1',
        'switched traffic.switched v1',
        'completed deploy.succeeded v1',
        'started deploy.started v2',
        'promoted deploy.promoted v2',
        'switched traffic.switched v2',
        'completed deploy.succeeded v2',
        // An instant rollback says which release it picked before traffic moves (issue 20, item 13).
        'started rollback.started v1',
        'switched traffic.switched v1',
        'rolled_back rollback.succeeded v1',
        'started deploy.started v3',
        'aborted deploy.aborted v3',
      ],
    );
    const seqs = payloads.map((p) => Number(p.id.replace('evt-', '')));
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => a - b),
      'ids follow the order of the events',
    );
    assert.equal(new Set(seqs).size, seqs.length, 'no event twice');
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(webhook.received.length, 12, 'nothing more than those arrived');
  });

  it('every delivery carries a valid signature over its raw body, and its headers match the body', () => {
    for (const r of hooks) {
      assert.ok(verifySignature(SECRET, r.headers, r.raw), `signature of ${r.raw.toString()}`);
      const payload = r.json as WebhookPayload;
      assert.equal(r.headers['x-cutover-event'], payload.kind);
      assert.equal(r.headers['x-cutover-delivery'], payload.id);
      assert.equal(r.headers['content-type'], 'application/json');
      assert.equal(payload.service, 'web');
      assert.ok(payload.operation?.startsWith('op-') || payload.operation === null);
      assert.ok(Math.abs(Date.parse(payload.at) - Date.now()) < 120_000, payload.at);
      assert.ok(payload.message.length > 0);
    }
  });

  it('the check refuses a changed body, another secret and an old timestamp', () => {
    const first = hooks[0]!;
    const tampered = Buffer.from(first.raw.toString().replace('"v1"', '"v9"'));
    assert.notDeepEqual(tampered, first.raw);
    assert.equal(verifySignature(SECRET, first.headers, tampered), false);
    assert.equal(verifySignature('another-secret', first.headers, first.raw), false);
    assert.equal(
      verifySignature(SECRET, first.headers, first.raw, Date.now() + 10 * 60_000),
      false,
      'a replay 10 minutes later',
    );
  });

  it('Slack gets only the kinds it subscribed to, as text + Block Kit blocks', async () => {
    const messages = (await slack.waitFor(3)).map((r) => r.json as SlackMessage);
    assert.equal(slack.received[0]!.headers['x-cutover-signature'], undefined, 'Slack targets are not signed');
    assert.deepEqual(
      messages.map((m) => (m.blocks[0]?.type === 'header' ? m.blocks[0].text.text : null)),
      ['✅ web: deploy completed', '✅ web: deploy completed', '↩️ web: rolled back'],
    );
    for (const message of messages) {
      assert.equal(typeof message.text, 'string');
      assert.deepEqual(
        message.blocks.map((b) => b.type),
        ['header', 'section', 'section', 'context'],
      );
      const header = message.blocks[0]!;
      assert.ok(header.type === 'header' && header.text.type === 'plain_text');
      const body = message.blocks[1]!;
      assert.ok(body.type === 'section' && 'text' in body && body.text.type === 'mrkdwn' && body.text.text.length > 0);
    }
    assert.match(messages[2]!.text, /rolled back v1 \(web-1\): rollback succeeded/);
  });

  it('Discord gets content + one embed, with mentions disabled', async () => {
    const messages = (await discord.waitFor(2)).map((r) => r.json as DiscordMessage);
    assert.deepEqual(
      messages.map((m) => m.embeds[0]?.title),
      ['↩️ web: rolled back', '⛔ web: deploy aborted'],
    );
    for (const message of messages) {
      assert.ok(message.content.length > 0 && message.content.length <= 2000);
      assert.deepEqual(message.allowed_mentions, { parse: [] });
      const embed = message.embeds[0]!;
      assert.equal(typeof embed.color, 'number');
      assert.ok(!Number.isNaN(Date.parse(embed.timestamp)));
      assert.ok(embed.fields.some((f) => f.name === 'Event' && f.inline));
    }
    assert.equal(messages[1]!.embeds[0]!.fields.find((f) => f.name === 'Release')?.value, 'v3 (web-3)');
  });
});
