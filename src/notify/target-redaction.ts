import { REDACTED } from '../config/redact.js';
import type { NotificationTargetConfig } from '../config/types.js';

/**
 * Notification targets carry secrets: the webhook's HMAC secret, and the
 * token inside Slack and Discord webhook URLs (…/services/T…/B…/<token>,
 * …/webhooks/<id>/<token>). Only the scheme, host and port of a URL are ever
 * shown; the path, query and credentials are replaced whole, since a token
 * can sit in any of them.
 */
export function redactTargetUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const path = parsed.pathname === '/' || parsed.pathname === '' ? '' : `/${REDACTED}`;
    const query = parsed.search === '' ? '' : `?${REDACTED}`;
    return `${parsed.protocol}//${parsed.host}${path}${query}`;
  } catch {
    return REDACTED;
  }
}

/** The targets as they may be shown (API answers, logs, a dashboard). */
export function redactNotificationTargets(targets: readonly NotificationTargetConfig[]): NotificationTargetConfig[] {
  return targets.map((target) => ({
    ...target,
    events: [...target.events],
    url: redactTargetUrl(target.url),
    secret: target.secret === null ? null : REDACTED,
  }));
}

/** How logs name a target: `ops (webhook https://hooks.example.com/[redacted])`. */
export function targetLabel(target: NotificationTargetConfig): string {
  return `${target.name} (${target.type} ${redactTargetUrl(target.url)})`;
}

/** An error message with the target's URL, path or secret taken out, in case a library echoed them. */
export function scrubSecrets(message: string, target: NotificationTargetConfig): string {
  let scrubbed = message;
  const secrets = [target.url, target.secret];
  try {
    const parsed = new URL(target.url);
    secrets.push(`${parsed.pathname}${parsed.search}`, parsed.pathname, parsed.search.slice(1), parsed.password);
  } catch {
    // Not a URL: the whole string is replaced above.
  }
  for (const secret of secrets) {
    if (secret && secret.length > 1) scrubbed = scrubbed.replaceAll(secret, REDACTED);
  }
  return scrubbed;
}
