import { notificationTitle, KIND_EMOJI } from './notification-kinds.js';
import type { Notification } from './notification.js';

/**
 * What the Slack and Discord messages share: the headline and the facts
 * listed under it, and cutting text to a field's limit.
 */
export function headline(notification: Notification): string {
  return `${KIND_EMOJI[notification.kind]} ${notification.service}: ${notificationTitle(notification)}`;
}

export function releaseText(notification: Notification): string | null {
  if (notification.releaseId === null) return null;
  return notification.version === null ? notification.releaseId : `${notification.version} (${notification.releaseId})`;
}

/** Label and value pairs under the message; absent facts are left out. */
export function facts(notification: Notification): { label: string; value: string }[] {
  const list: { label: string; value: string }[] = [];
  const release = releaseText(notification);
  if (release !== null) list.push({ label: 'Release', value: release });
  list.push({ label: 'Event', value: notification.event });
  if (notification.operationId !== null) list.push({ label: 'Operation', value: notification.operationId });
  return list;
}

/** At most `limit` characters (code points), with an ellipsis when cut: chat APIs refuse longer fields. */
export function truncate(text: string, limit: number): string {
  const chars = [...text];
  return chars.length <= limit ? text : `${chars.slice(0, limit - 1).join('')}…`;
}
