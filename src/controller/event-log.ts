import type { Logger } from 'pino';
import { SecretRedactor } from '../config/secret-redactor.js';
import type { Store } from '../store/store.js';
import type { EventRecord } from '../store/records.js';

export type EventLevel = 'info' | 'warn' | 'error';

/** Sees each event once it is stored; must return at once (notifications queue, they never send here). */
export type EventListener = (event: EventRecord, level: EventLevel) => void;

/**
 * Every step of an operation is one event: persisted (the CLI and the
 * dashboard read them back) and logged as one structured line carrying the
 * service, release and operation ids.
 */
/** What a caller records; the log stamps the time and redacts secrets. */
export interface NewEvent {
  operationId: string | null;
  service: string;
  releaseId: string | null;
  type: string;
  message: string;
  data?: unknown;
  level?: EventLevel;
}

export class EventLog {
  private readonly listeners = new Set<EventListener>();

  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
    private readonly now: () => number,
    /** Events quote errors and measurements (a provider URL with its password): redacted before anything stores or sends them. */
    private readonly redactor: SecretRedactor = SecretRedactor.none(),
  ) {}

  record(unredacted: NewEvent): EventRecord {
    const input = {
      ...unredacted,
      message: this.redactor.redactText(unredacted.message),
      data: this.redactor.redactValue(unredacted.data),
    };
    const event = this.store.appendEvent({
      operationId: input.operationId,
      service: input.service,
      releaseId: input.releaseId,
      at: this.now(),
      type: input.type,
      message: input.message,
      data: input.data ?? null,
    });
    this.logger[input.level ?? 'info'](
      {
        service: input.service,
        release: input.releaseId ?? undefined,
        operation: input.operationId ?? undefined,
        event: input.type,
        data: input.data,
      },
      input.message,
    );
    for (const listener of this.listeners) {
      // An observer's bug must not become the deploy's failure: the event is stored and logged already.
      try {
        listener(event, input.level ?? 'info');
      } catch (error) {
        this.logger.warn({ err: error, event: input.type }, 'an event listener failed');
      }
    }
    return event;
  }

  /** Adds an observer of every recorded event; returns the function that removes it. */
  onRecord(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }
}
