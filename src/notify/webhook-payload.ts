import type { Notification } from './notification.js';

/**
 * The generic webhook's JSON body. Field names are part of the interface
 * receivers code against: add fields, never rename them.
 */
export interface WebhookPayload {
  id: string;
  kind: Notification['kind'];
  event: string;
  service: string;
  release: { id: string; version: string | null } | null;
  operation: string | null;
  message: string;
  level: Notification['level'];
  /** ISO 8601, UTC. */
  at: string;
  data: unknown;
}

export function webhookPayload(notification: Notification): WebhookPayload {
  return {
    id: notification.id,
    kind: notification.kind,
    event: notification.event,
    service: notification.service,
    release: notification.releaseId === null ? null : { id: notification.releaseId, version: notification.version },
    operation: notification.operationId,
    message: notification.message,
    level: notification.level,
    at: new Date(notification.at).toISOString(),
    data: notification.data ?? null,
  };
}
