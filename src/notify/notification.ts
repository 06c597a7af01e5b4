import type { EventLevel } from '../controller/event-log.js';
import type { NotificationKind } from '../config/types.js';

/**
 * One thing worth telling people about, made from one controller event. Every
 * target's message (webhook JSON, Slack, Discord) is formatted from this.
 */
export interface Notification {
  /** `evt-<seq>` of the stored event: the same across targets and retries, so receivers can drop duplicates. */
  id: string;
  kind: NotificationKind;
  /** The controller's event type, e.g. traffic.switched or rollback.succeeded. */
  event: string;
  service: string;
  releaseId: string | null;
  version: string | null;
  operationId: string | null;
  /** The event's own sentence, as the CLI shows it. */
  message: string;
  level: EventLevel;
  /** Epoch ms of the event. */
  at: number;
  data: unknown;
}
