import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NOTIFICATION_KINDS } from '../../src/config/notifications-schema.js';
import { discordPayload } from '../../src/notify/discord-payload.js';
import { signatureHeaders, signPayload } from '../../src/notify/hmac-signature.js';
import type { Notification } from '../../src/notify/notification.js';
import { notificationKindOf, notificationTitle } from '../../src/notify/notification-kinds.js';
import { slackPayload } from '../../src/notify/slack-payload.js';
import { webhookPayload } from '../../src/notify/webhook-payload.js';

const switched: Notification = {
  id: 'evt-42',
  kind: 'switched',
  event: 'traffic.switched',
  service: 'web',
  releaseId: 'web-7',
  version: 'v2.3.0',
  operationId: 'op-1700000000000-ab12',
  message: 'traffic switched: v2.2.0 (web-6, blue) → v2.3.0 (web-7, green)',
  level: 'info',
  at: Date.UTC(2024, 0, 2, 3, 4, 5),
  data: { from: 'web-6', to: 'web-7' },
};

describe('which controller events notify, and as what', () => {
  it('maps the deploy, rollback, canary, rolling and flag rollout events onto the kinds', () => {
    const cases: [string, string | null][] = [
      ['deploy.started', 'started'],
      ['rollback.started', 'started'],
      ['traffic.switched', 'switched'],
      ['deploy.promoted', 'promoted'],
      ['canary.step', 'promoted'],
      ['canary.promoted', 'promoted'],
      ['analysis.failed', 'analysis_failed'],
      ['deploy.aborted', 'aborted'],
      ['rollback.aborted', 'aborted'],
      ['deploy.failed', 'failed'],
      ['rollback.failed', 'failed'],
      ['deploy.rolled-back', 'rolled_back'],
      ['canary.rolled-back', 'rolled_back'],
      ['rolling.rolled-back', 'rolled_back'],
      ['rollback.succeeded', 'rolled_back'],
      ['deploy.succeeded', 'completed'],
      ['flag-rollout.started', 'flag_rollout_started'],
      ['flag-rollout.succeeded', 'flag_rollout_succeeded'],
      ['flag-rollout.failed', 'flag_rollout_failed'],
      ['flag-rollout.aborted', 'flag_rollout_failed'],
      ['flag-schedule.applied', 'flag_change'],
      ['flag-change.approved', 'flag_change'],
      ['maintenance.on', 'maintenance'],
      ['maintenance.off', 'maintenance'],
      // The steps in between stay in history and the log.
      ['instance.started', null],
      ['health.waiting', null],
      ['analysis.measurement', null],
      ['analysis.successful', null],
      ['release.drained', null],
      ['deploy.ready', null],
      ['toString', null],
      ['constructor', null],
    ];
    for (const [event, kind] of cases) assert.equal(notificationKindOf(event), kind, event);
  });

  it('reaches every kind a target can subscribe to', () => {
    const events = [
      'deploy.started',
      'traffic.switched',
      'deploy.promoted',
      'analysis.failed',
      'deploy.aborted',
      'deploy.failed',
      'rollback.succeeded',
      'deploy.succeeded',
      'flag-rollout.started',
      'flag-rollout.succeeded',
      'flag-rollout.failed',
      'flag-schedule.applied',
      'maintenance.on',
    ];
    assert.deepEqual(new Set(events.map(notificationKindOf)), new Set(NOTIFICATION_KINDS));
  });

  it('titles say whether a deploy or a rollback started, failed or was aborted', () => {
    assert.equal(notificationTitle({ kind: 'started', event: 'rollback.started' }), 'rollback started');
    assert.equal(notificationTitle({ kind: 'started', event: 'deploy.started' }), 'deploy started');
    assert.equal(notificationTitle({ kind: 'failed', event: 'rollback.failed' }), 'rollback failed');
    assert.equal(
      notificationTitle({ kind: 'flag_rollout_failed', event: 'flag-rollout.aborted' }),
      'flag rollout aborted',
    );
    assert.equal(notificationTitle({ kind: 'maintenance', event: 'maintenance.on' }), 'maintenance started');
    assert.equal(notificationTitle({ kind: 'maintenance', event: 'maintenance.off' }), 'maintenance ended');
  });
});

describe('the signed JSON webhook', () => {
  it('has stable fields with the release, the operation and an ISO time', () => {
    assert.deepEqual(webhookPayload(switched), {
      id: 'evt-42',
      kind: 'switched',
      event: 'traffic.switched',
      service: 'web',
      release: { id: 'web-7', version: 'v2.3.0' },
      operation: 'op-1700000000000-ab12',
      message: switched.message,
      level: 'info',
      at: '2024-01-02T03:04:05.000Z',
      data: { from: 'web-6', to: 'web-7' },
    });
    assert.equal(webhookPayload({ ...switched, releaseId: null, version: null, data: undefined }).release, null);
  });

  it('signs `${timestamp}.${body}` with HMAC-SHA256, as `openssl dgst -sha256 -hmac` does', () => {
    // printf '%s' '1700000000.{"id":"evt-1"}' | openssl dgst -sha256 -hmac whsec-example
    assert.equal(
      signPayload('whsec-example', 1700000000, '{"id":"evt-1"}'),
      'sha256=7d0a8298fe7387c3025c64a705635f7ee8ff75fe18f6e584223377767ddf19fe',
    );
    assert.deepEqual(signatureHeaders('whsec-example', '{"id":"evt-1"}', 1700000000_999), {
      'X-Cutover-Timestamp': '1700000000',
      'X-Cutover-Signature': 'sha256=7d0a8298fe7387c3025c64a705635f7ee8ff75fe18f6e584223377767ddf19fe',
    });
    assert.notEqual(
      signPayload('whsec-example', 1700000001, '{"id":"evt-1"}'),
      signPayload('whsec-example', 1700000000, '{"id":"evt-1"}'),
    );
  });
});

describe('the Slack incoming-webhook message', () => {
  it('has a fallback text and header, message, fields and context blocks', () => {
    const message = slackPayload(switched);
    assert.equal(
      message.text,
      '🔀 web: traffic switched v2.3.0 (web-7): traffic switched: v2.2.0 (web-6, blue) → v2.3.0 (web-7, green)',
    );
    assert.deepEqual(message.blocks, [
      { type: 'header', text: { type: 'plain_text', text: '🔀 web: traffic switched', emoji: true } },
      { type: 'section', text: { type: 'mrkdwn', text: switched.message } },
      {
        type: 'section',
        fields: [
          { type: 'mrkdwn', text: '*Release*\nv2.3.0 (web-7)' },
          { type: 'mrkdwn', text: '*Event*\ntraffic.switched' },
          { type: 'mrkdwn', text: '*Operation*\nop-1700000000000-ab12' },
        ],
      },
      { type: 'context', elements: [{ type: 'mrkdwn', text: 'cutover · 2024-01-02T03:04:05.000Z' }] },
    ]);
  });

  it('escapes &, < and > so event text cannot mention @channel, and keeps to the block limits', () => {
    const message = slackPayload({
      ...switched,
      kind: 'failed',
      event: 'deploy.failed',
      message: `<!channel> a & b ${'x'.repeat(5000)}`,
    });
    const section = message.blocks[1]!;
    assert.ok(section.type === 'section' && 'text' in section);
    assert.ok(section.text.text.startsWith('&lt;!channel&gt; a &amp; b'));
    assert.equal([...section.text.text].length, 3000);
    assert.ok(section.text.text.endsWith('…'));
    assert.ok(!message.text.includes('<!channel>'));
    const long = slackPayload({ ...switched, service: 's'.repeat(200) });
    const header = long.blocks[0]!;
    assert.ok(header.type === 'header' && [...header.text.text].length === 150);
  });

  it('leaves out what an event does not have', () => {
    const message = slackPayload({
      ...switched,
      kind: 'flag_rollout_started',
      event: 'flag-rollout.started',
      releaseId: null,
      version: null,
      operationId: null,
    });
    const fields = message.blocks[2]!;
    assert.ok(fields.type === 'section' && 'fields' in fields);
    assert.deepEqual(
      fields.fields.map((f) => f.text),
      ['*Event*\nflag-rollout.started'],
    );
  });
});

describe('the Discord webhook message', () => {
  it('has content and one embed with a colour per outcome, inline fields and the timestamp', () => {
    const message = discordPayload(switched);
    assert.deepEqual(message, {
      content: '🔀 web: traffic switched v2.3.0 (web-7)',
      embeds: [
        {
          title: '🔀 web: traffic switched',
          description: switched.message,
          color: 0x36c5f0,
          fields: [
            { name: 'Release', value: 'v2.3.0 (web-7)', inline: true },
            { name: 'Event', value: 'traffic.switched', inline: true },
            { name: 'Operation', value: 'op-1700000000000-ab12', inline: true },
          ],
          timestamp: '2024-01-02T03:04:05.000Z',
          footer: { text: 'cutover' },
        },
      ],
      allowed_mentions: { parse: [] },
    });
  });

  it('colours failures red and successes green, and keeps to the embed limits', () => {
    assert.equal(discordPayload({ ...switched, kind: 'analysis_failed' }).embeds[0]!.color, 0xe01e5a);
    assert.equal(discordPayload({ ...switched, kind: 'completed' }).embeds[0]!.color, 0x2eb67d);
    assert.equal(discordPayload({ ...switched, kind: 'rolled_back' }).embeds[0]!.color, 0xecb22e);
    const long = discordPayload({ ...switched, message: 'm'.repeat(5000), version: 'v'.repeat(3000) });
    assert.equal([...long.embeds[0]!.description].length, 4096);
    assert.ok(long.embeds[0]!.fields.every((f) => [...f.value].length <= 1024));
    assert.ok([...long.content].length <= 2000);
  });
});
