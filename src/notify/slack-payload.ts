import { facts, headline, releaseText, truncate } from './chat-text.js';
import type { Notification } from './notification.js';

/**
 * A Slack incoming-webhook message: `text` (the fallback shown in
 * notifications and by clients without blocks) and Block Kit `blocks`: a
 * header, the event's message, the facts as fields, and a context line.
 * Limits from Slack's Block Kit reference: header text 150 characters,
 * section text 3000, at most 10 fields of 2000 each.
 */
export interface SlackText {
  type: 'plain_text' | 'mrkdwn';
  text: string;
  emoji?: boolean;
}

export type SlackBlock =
  | { type: 'header'; text: SlackText }
  | { type: 'section'; text: SlackText }
  | { type: 'section'; fields: SlackText[] }
  | { type: 'context'; elements: SlackText[] };

export interface SlackMessage {
  text: string;
  blocks: SlackBlock[];
}

export function slackPayload(notification: Notification): SlackMessage {
  const title = headline(notification);
  const release = releaseText(notification);
  return {
    text: truncate(escapeMrkdwn(`${title}${release === null ? '' : ` ${release}`}: ${notification.message}`), 3000),
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: truncate(title, 150), emoji: true } },
      { type: 'section', text: { type: 'mrkdwn', text: truncate(escapeMrkdwn(notification.message), 3000) } },
      {
        type: 'section',
        fields: facts(notification)
          .slice(0, 10)
          .map(({ label, value }) => ({ type: 'mrkdwn', text: truncate(`*${label}*\n${escapeMrkdwn(value)}`, 2000) })),
      },
      { type: 'context', elements: [{ type: 'mrkdwn', text: `cutover · ${new Date(notification.at).toISOString()}` }] },
    ],
  };
}

/**
 * Slack reads &, < and > as markup (`<!channel>` would notify everyone), so
 * text from events is escaped as its docs ask; backticks and *bold* stay.
 */
export function escapeMrkdwn(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}
