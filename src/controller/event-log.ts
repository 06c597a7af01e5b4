import type { Logger } from 'pino';
import type { SqliteStore } from '../store/sqlite-store.js';
import type { EventRecord } from '../store/records.js';

/**
 * Every step of an operation is one event: persisted (the CLI and the
 * dashboard read them back) and logged as one structured line carrying the
 * service, release and operation ids.
 */
export class EventLog {
  constructor(private readonly store: SqliteStore, private readonly logger: Logger, private readonly now: () => number) {}

  record(input: { operationId: string | null; service: string; releaseId: string | null; type: string; message: string; data?: unknown; level?: 'info' | 'warn' | 'error' }): EventRecord {
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
      { service: input.service, release: input.releaseId ?? undefined, operation: input.operationId ?? undefined, event: input.type, data: input.data },
      input.message,
    );
    return event;
  }
}
