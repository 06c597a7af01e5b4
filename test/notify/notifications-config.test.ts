import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load-config.js';
import { NOTIFICATION_KINDS } from '../../src/config/notifications-schema.js';
import { STARTER_CONFIG } from '../../src/config/starter-config.js';
import { CutoverError } from '../../src/core/errors.js';
import { redactNotificationTargets, redactTargetUrl } from '../../src/notify/target-redaction.js';

const SERVICES = 'services: { web: { command: node server.js } }\n';
const SLACK_URL = 'https://hooks.slack.com/services/T0001/B0001/abcdefSLACKtoken';
const DISCORD_URL = 'https://discord.com/api/webhooks/123456/DISCORDtokenXYZ';

function load(yaml: string, env: NodeJS.ProcessEnv = {}): ReturnType<typeof parseConfig> {
  return parseConfig(SERVICES + yaml, '/srv/site/cutover.yaml', { env });
}

function problems(yaml: string): string {
  try {
    load(yaml);
  } catch (error) {
    assert.ok(error instanceof CutoverError);
    assert.equal(error.code, 'CONFIG_INVALID');
    return error.message;
  }
  assert.fail('the config loaded');
}

describe('notifications: in cutover.yaml', () => {
  it('is empty when not written', () => {
    assert.deepEqual(load('').notifications, []);
  });

  it('fills in every default, takes the secret and URLs from the environment, and names unnamed targets', () => {
    const config = load(
      `notifications:
  - { type: webhook, url: https://deploys.example.com/hooks, secret: "\${WEBHOOK_SECRET}" }
  - { type: slack, name: ops-slack, url: "\${SLACK_WEBHOOK_URL}", events: completed, timeout: 2s, retries: 0, backoff: 250ms, queue_limit: 10 }
  - { type: discord, url: "\${DISCORD_WEBHOOK_URL}", events: [failed, rolled_back, failed] }
`,
      { WEBHOOK_SECRET: 'from-the-env', SLACK_WEBHOOK_URL: SLACK_URL, DISCORD_WEBHOOK_URL: DISCORD_URL },
    );
    assert.deepEqual(config.notifications, [
      {
        type: 'webhook',
        name: 'webhook-1',
        url: 'https://deploys.example.com/hooks',
        secret: 'from-the-env',
        events: [...NOTIFICATION_KINDS],
        timeoutMs: 5_000,
        retries: 3,
        backoffMs: 1_000,
        queueLimit: 100,
      },
      {
        type: 'slack',
        name: 'ops-slack',
        url: SLACK_URL,
        secret: null,
        events: ['completed'],
        timeoutMs: 2_000,
        retries: 0,
        backoffMs: 250,
        queueLimit: 10,
      },
      {
        type: 'discord',
        name: 'discord-3',
        url: DISCORD_URL,
        secret: null,
        events: ['failed', 'rolled_back'],
        timeoutMs: 5_000,
        retries: 3,
        backoffMs: 1_000,
        queueLimit: 100,
      },
    ]);
  });

  it('refuses a webhook without a secret, an unknown kind, a secret on Slack and a non-HTTP URL, saying what to write', () => {
    assert.match(
      problems('notifications: [{ type: webhook, url: https://example.com/h }]'),
      /notifications\[0\]\.secret: expected the shared secret/,
    );
    assert.match(
      problems('notifications: [{ type: slack, url: https://example.com/h, events: [deployed] }]'),
      /expected one of started, switched, promoted/,
    );
    assert.match(
      problems('notifications: [{ type: slack, url: https://example.com/h, secret: x }]'),
      /secret.*only used with type: webhook/s,
    );
    const badUrl = problems('notifications: [{ type: discord, url: "discord.com/api/webhooks/1/DISCORDtokenXYZ" }]');
    assert.match(badUrl, /url: expected an http or https URL.*got "\[redacted\]"/);
    assert.ok(!badUrl.includes('DISCORDtokenXYZ'), 'a refused URL is not quoted back: it holds the token');
    assert.match(
      problems('notifications: [{ type: teams, url: https://example.com/h }]'),
      /expected a notification target with type: webhook, slack, discord/,
    );
    assert.match(problems('notifications: [{ type: slack, url: https://example.com/h, retries: 50 }]'), /from 0 to 10/);
  });

  it('the starter config documents every key of a target', () => {
    for (const key of [
      'notifications',
      'type',
      'url',
      'secret',
      'name',
      'events',
      'timeout',
      'retries',
      'backoff',
      'queue_limit',
    ]) {
      assert.match(STARTER_CONFIG, new RegExp(`#.*\\b${key}:`), key);
    }
    for (const kind of NOTIFICATION_KINDS) assert.match(STARTER_CONFIG, new RegExp(`\\b${kind}\\b`), kind);
  });
});

describe('notification targets as they are shown', () => {
  it('keep only scheme, host and port of a URL, and no secret', () => {
    const config = load(`notifications:
  - { type: webhook, url: "https://user:pw@deploys.example.com:8443/hooks/abc?token=q", secret: s3cret-value-123 }
  - { type: slack, url: "${SLACK_URL}" }
  - { type: discord, url: "${DISCORD_URL}" }
`);
    const shown = redactNotificationTargets(config.notifications);
    assert.deepEqual(
      shown.map((t) => [t.url, t.secret]),
      [
        ['https://deploys.example.com:8443/[redacted]?[redacted]', '[redacted]'],
        ['https://hooks.slack.com/[redacted]', null],
        ['https://discord.com/[redacted]', null],
      ],
    );
    const text = JSON.stringify(shown);
    for (const secret of ['s3cret-value-123', 'abcdefSLACKtoken', 'DISCORDtokenXYZ', 'pw@', 'token=q', 'T0001'])
      assert.ok(!text.includes(secret), secret);
    assert.equal(config.notifications[0]!.secret, 's3cret-value-123', 'the config itself is not changed');
    assert.equal(redactTargetUrl('https://example.com'), 'https://example.com');
  });
});
