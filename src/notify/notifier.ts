import type { Logger } from 'pino';
import { Agent } from 'undici';
import type { EventLevel } from '../controller/event-log.js';
import { SecretRedactor } from '../config/secret-redactor.js';
import type { NotificationTargetConfig } from '../config/types.js';
import { CutoverError } from '../core/errors.js';
import type { EventRecord } from '../store/records.js';
import { DeliveryQueue, type OutgoingRequest } from './delivery-queue.js';
import { discordPayload } from './discord-payload.js';
import { signatureHeaders } from './hmac-signature.js';
import type { Notification } from './notification.js';
import { notificationKindOf } from './notification-kinds.js';
import { slackPayload } from './slack-payload.js';
import { targetLabel } from './target-redaction.js';
import { webhookPayload } from './webhook-payload.js';

/**
 * Turns recorded events into notifications and hands each to the queue of
 * every target that wants its kind. `onEvent` is the EventLog listener: it
 * only formats and queues, so the deploy that recorded the event never waits
 * for, or learns about, a receiver.
 */
export interface NotifierDeps {
  logger: Logger;
  /** The version of a release, for the messages; null when unknown. */
  versionOf?: (releaseId: string) => string | null;
  now?: () => number;
  /** A notification leaves the process: every known secret is taken out of it before it is encoded (and signed). */
  redactor?: SecretRedactor;
}

const USER_AGENT = 'cutover-notify/1';

interface Target {
  config: NotificationTargetConfig;
  queue: DeliveryQueue;
  encode: (notification: Notification) => OutgoingRequest;
}

export class Notifier {
  private targets: Target[];
  private readonly now: () => number;
  private readonly dispatcher = new Agent({ keepAliveTimeout: 10_000 });
  private readonly logger: Logger;
  private readonly versionOf: (releaseId: string) => string | null;
  private readonly redactor: SecretRedactor;

  constructor(configs: readonly NotificationTargetConfig[], deps: NotifierDeps) {
    this.logger = deps.logger;
    this.versionOf = deps.versionOf ?? (() => null);
    this.redactor = deps.redactor ?? SecretRedactor.none();
    this.now = deps.now ?? Date.now;
    this.targets = configs.map((config) => this.targetOf(config));
    if (this.targets.length > 0) {
      this.logger.info(
        { targets: configs.map(targetLabel) },
        `notifications go to ${configs.map(targetLabel).join(', ')}`,
      );
    }
  }

  private targetOf(config: NotificationTargetConfig): Target {
    return {
      config,
      queue: new DeliveryQueue(config, { logger: this.logger, dispatcher: this.dispatcher, now: this.now }),
      encode: encoderFor(config),
    };
  }

  /**
   * A reloaded config's targets: a target configured exactly as before keeps
   * its queue; one no longer configured delivers what it holds, then stops.
   */
  replaceTargets(configs: readonly NotificationTargetConfig[]): void {
    const key = (config: NotificationTargetConfig): string => JSON.stringify(config);
    const kept = new Map(this.targets.map((target) => [key(target.config), target]));
    const next = configs.map((config) => {
      const target = kept.get(key(config));
      kept.delete(key(config));
      return target ?? this.targetOf(config);
    });
    this.targets = next;
    for (const gone of kept.values()) void gone.queue.idle().then(() => gone.queue.stop());
    this.logger.info(
      { targets: configs.map(targetLabel) },
      `notifications now go to ${configs.map(targetLabel).join(', ') || 'nowhere'}`,
    );
  }

  /** The EventLog listener; never throws. */
  readonly onEvent = (event: EventRecord, level: EventLevel): void => {
    if (this.targets.length === 0) return;
    const kind = notificationKindOf(event.type);
    if (kind === null) return;
    try {
      this.notify({
        id: `evt-${event.seq}`,
        kind,
        event: event.type,
        service: event.service,
        releaseId: event.releaseId,
        version: event.releaseId === null ? null : this.versionOf(event.releaseId),
        operationId: event.operationId,
        message: event.message,
        level,
        at: event.at,
        data: event.data,
      });
    } catch (error) {
      this.logger.warn({ err: error, event: event.type }, 'could not queue a notification');
    }
  };

  notify(unredacted: Notification): void {
    const notification = this.redactor.redactValue(unredacted);
    for (const target of this.targets) {
      if (target.config.events.includes(notification.kind)) target.queue.push(target.encode(notification));
    }
  }

  /** Resolves once every queue is empty (tests; a stopping server). */
  async idle(): Promise<void> {
    await Promise.all(this.targets.map((target) => target.queue.idle()));
  }

  /**
   * Gives the queues up to the longest target timeout to empty, then cancels
   * what is left: stopping the server is delayed by at most that much.
   */
  async close(): Promise<void> {
    const flushMs = Math.max(0, ...this.targets.map((target) => target.config.timeoutMs));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.idle(),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, flushMs);
      }),
    ]);
    clearTimeout(timer);
    for (const target of this.targets) target.queue.stop();
    await this.dispatcher.destroy();
  }
}

function encoderFor(config: NotificationTargetConfig): (notification: Notification) => OutgoingRequest {
  const json = { 'content-type': 'application/json', 'user-agent': USER_AGENT };
  const label = (notification: Notification): string =>
    `${notification.event} of ${notification.service} (${notification.id})`;
  switch (config.type) {
    case 'webhook': {
      const secret = config.secret;
      if (secret === null)
        throw new CutoverError(
          'CONFIG_INVALID',
          `notification target ${config.name}: a webhook needs a secret to sign with`,
        );
      return (notification) => {
        const body = JSON.stringify(webhookPayload(notification));
        return {
          label: label(notification),
          body,
          headers: (nowMs) => ({
            ...json,
            'x-cutover-event': notification.kind,
            'x-cutover-delivery': notification.id,
            ...signatureHeaders(secret, body, nowMs),
          }),
        };
      };
    }
    case 'slack':
      return (notification) => ({
        label: label(notification),
        body: JSON.stringify(slackPayload(notification)),
        headers: () => json,
      });
    case 'discord':
      return (notification) => ({
        label: label(notification),
        body: JSON.stringify(discordPayload(notification)),
        headers: () => json,
      });
  }
}
