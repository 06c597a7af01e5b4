import { notificationTone, type NotificationTone } from './notification-kinds.js';
import { facts, headline, releaseText, truncate } from './chat-text.js';
import type { Notification } from './notification.js';

/**
 * A Discord execute-webhook body: `content` (the line shown in the channel
 * and in notifications) and one rich embed with the message, the facts as
 * inline fields, a colour for the outcome and the event's timestamp.
 * `allowed_mentions: { parse: [] }` keeps any @everyone or <@id> in an event's
 * text from pinging anyone. Limits from Discord's API reference: content 2000
 * characters, embed title 256, description 4096, field name 256, value 1024.
 */
export interface DiscordEmbed {
  title: string;
  description: string;
  color: number;
  fields: { name: string; value: string; inline: boolean }[];
  timestamp: string;
  footer: { text: string };
}

export interface DiscordMessage {
  content: string;
  embeds: DiscordEmbed[];
  allowed_mentions: { parse: string[] };
}

const TONE_COLOR: Readonly<Record<NotificationTone, number>> = {
  good: 0x2eb67d,
  bad: 0xe01e5a,
  warning: 0xecb22e,
  neutral: 0x36c5f0,
};

export function discordPayload(notification: Notification): DiscordMessage {
  const title = headline(notification);
  const release = releaseText(notification);
  return {
    content: truncate(`${title}${release === null ? '' : ` ${release}`}`, 2000),
    embeds: [
      {
        title: truncate(title, 256),
        description: truncate(notification.message, 4096),
        color: TONE_COLOR[notificationTone(notification.kind)],
        fields: facts(notification).map(({ label, value }) => ({
          name: truncate(label, 256),
          value: truncate(value, 1024),
          inline: true,
        })),
        timestamp: new Date(notification.at).toISOString(),
        footer: { text: 'cutover' },
      },
    ],
    allowed_mentions: { parse: [] },
  };
}
