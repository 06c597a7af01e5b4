import { CONFIG_DEFAULTS } from './config-defaults.js';
import { NOTIFICATION_KINDS, type RawNotifications } from './notifications-schema.js';
import type { NotificationTargetConfig } from './types.js';

/** A checked `notifications:` list → targets with every default filled in. */
export function resolveNotifications(raw: RawNotifications): NotificationTargetConfig[] {
  const defaults = CONFIG_DEFAULTS.notifications;
  return raw.map((target, index) => ({
    type: target.type,
    name: target.name ?? `${target.type}-${index + 1}`,
    url: target.url,
    secret: target.type === 'webhook' ? target.secret : null,
    events: [...new Set(target.events ?? NOTIFICATION_KINDS)],
    timeoutMs: target.timeout ?? defaults.timeoutMs,
    retries: target.retries ?? defaults.retries,
    backoffMs: target.backoff ?? defaults.backoffMs,
    queueLimit: target.queue_limit ?? defaults.queueLimit,
  }));
}
