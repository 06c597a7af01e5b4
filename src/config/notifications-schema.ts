import { z } from 'zod';
import { REDACTED } from './redact.js';
import { httpUrl, listOf, positiveDuration, stringish, strictMap, wholeNumber } from './schema-fields.js';
import type { NotificationKind } from './types.js';

/**
 * The top-level `notifications:` list: where deploy events are sent (a
 * signed JSON webhook, a Slack or a Discord incoming webhook) and which of
 * them. src/notify/ maps controller events onto these kinds and delivers
 * them off the deploy's path.
 */

/** What a target can subscribe to; every kind when `events` is not written. */
export const NOTIFICATION_KINDS = [
  'started',
  'switched',
  'promoted',
  'analysis_failed',
  'aborted',
  'failed',
  'rolled_back',
  'completed',
  'flag_rollout_started',
  'flag_rollout_succeeded',
  'flag_rollout_failed',
  'flag_change',
  'maintenance',
] as const satisfies readonly NotificationKind[];

export const NOTIFICATION_TARGET_TYPES = ['webhook', 'slack', 'discord'] as const;

const KIND_EXPECTED = `expected one of ${NOTIFICATION_KINDS.join(', ')}`;
const TARGET_NAME_EXPECTED = 'expected a target name of letters, digits, "_" and "-", like ops-slack';

const events = z.preprocess(
  listOf,
  z
    .array(z.enum(NOTIFICATION_KINDS, { error: KIND_EXPECTED }), {
      error: `expected a list of event kinds (${NOTIFICATION_KINDS.join(', ')})`,
    })
    .min(1, { error: 'expected at least one event kind (leave events out for all of them)' }),
);

/**
 * Slack and Discord webhook URLs hold their token, so a refused one is not
 * quoted back in the error (which the server logs); nor is a secret.
 */
const URL_EXPECTED = 'expected an http or https URL, like https://hooks.slack.com/services/... or ${SLACK_WEBHOOK_URL}';
const targetUrl = z.unknown().transform((value, ctx): string => {
  const parsed = httpUrl.safeParse(value);
  if (parsed.success) return parsed.data;
  ctx.addIssue({ code: 'custom', message: URL_EXPECTED, input: typeof value === 'string' ? REDACTED : value });
  return z.NEVER;
});
const SECRET_EXPECTED = 'expected the shared secret the HMAC-SHA256 signature is made with, like ${WEBHOOK_SECRET}';
const secret = stringish(SECRET_EXPECTED).pipe(z.string().trim().min(1, { error: SECRET_EXPECTED }));

/** Keys every target kind has. */
const common = {
  name: z
    .string({ error: TARGET_NAME_EXPECTED })
    .regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, { error: TARGET_NAME_EXPECTED })
    .optional(),
  url: targetUrl,
  events: events.optional(),
  timeout: positiveDuration.optional(),
  retries: wholeNumber(0, 10).optional(),
  backoff: positiveDuration.optional(),
  queue_limit: wholeNumber(1, 10_000).optional(),
};

const webhookSchema = strictMap(
  {
    type: z.literal('webhook'),
    ...common,
    secret,
  },
  'expected a map like { type: webhook, url: https://example.com/hooks/cutover, secret: ${WEBHOOK_SECRET} }',
);

const slackSchema = strictMap(
  { type: z.literal('slack'), ...common },
  'expected a map like { type: slack, url: ${SLACK_WEBHOOK_URL} }',
);

const discordSchema = strictMap(
  { type: z.literal('discord'), ...common },
  'expected a map like { type: discord, url: ${DISCORD_WEBHOOK_URL} }',
);

const TARGET_EXPECTED = `expected a notification target with type: ${NOTIFICATION_TARGET_TYPES.join(', ')}`;

export const notificationsSchema = z.array(
  z.discriminatedUnion('type', [webhookSchema, slackSchema, discordSchema], { error: TARGET_EXPECTED }),
  { error: 'expected a list of notification targets, like [{ type: slack, url: ${SLACK_WEBHOOK_URL} }]' },
);

export type RawNotifications = z.output<typeof notificationsSchema>;
