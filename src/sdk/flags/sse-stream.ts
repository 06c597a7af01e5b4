import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { CutoverError } from '../../core/errors.js';
import { pause, type ReconnectBackoff } from './reconnect-backoff.js';
import { errorFromResponse, send, sdkHeaders, sdkUrl, unreachable, type FlagServer } from './server-requests.js';

/**
 * The flag stream (`GET /api/v1/sdk/stream`, Server-Sent Events) over fetch,
 * reconnecting for as long as it is open. Not the browser's EventSource: that
 * cannot send the Authorization header, and its fixed retry would bring every
 * SDK of a fleet back at the same instant. Each connection starts with a
 * snapshot, so nothing is replayed from Last-Event-ID.
 *
 * A connection with no byte for `idleTimeoutMs` (the server pings every 15 s)
 * is taken for dead and replaced: a half-open TCP connection would otherwise
 * keep the SDK on an old set without anyone noticing.
 */

export interface SseStreamOptions {
  server: FlagServer;
  backoff: ReconnectBackoff;
  idleTimeoutMs: number;
  /** The server accepted a connection; events follow. */
  onOpen(): void;
  onEvent(event: EventSourceMessage): void;
  /** A connection attempt failed or an open connection ended; the stream tries again after a backoff delay. */
  onDrop(error: CutoverError): void;
}

export class SseStream {
  private readonly options: SseStreamOptions;
  private readonly closing = new AbortController();
  private connection: AbortController | null = null;
  private loop: Promise<void> | null = null;

  constructor(options: SseStreamOptions) {
    this.options = options;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Ends the current connection; the stream connects again (after the backoff delay) and gets a fresh snapshot. */
  reconnect(): void {
    this.connection?.abort();
  }

  /** Stops for good: aborts the connection or the wait, and resolves once the loop has returned. */
  async close(): Promise<void> {
    this.closing.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.closing.signal.aborted) {
      const connection = new AbortController();
      this.connection = connection;
      let error: CutoverError;
      try {
        await this.connect(AbortSignal.any([this.closing.signal, connection.signal]));
        error = new CutoverError('SERVER_UNREACHABLE', `the flag stream from ${this.options.server.url} ended`, {
          hint: 'The SDK reconnects by itself.',
        });
      } catch (thrown) {
        error =
          connection.signal.aborted && !this.closing.signal.aborted
            ? new CutoverError(
                'SERVER_UNREACHABLE',
                `the flag stream from ${this.options.server.url} was dropped (no data, or a revision gap)`,
                { hint: 'The SDK reconnects by itself.' },
              )
            : unreachable(this.options.server, thrown);
      } finally {
        this.connection = null;
      }
      if (this.closing.signal.aborted) return;
      this.options.onDrop(error);
      await pause(this.options.backoff.next(), this.closing.signal);
    }
  }

  private async connect(signal: AbortSignal): Promise<void> {
    const { server } = this.options;
    const response = await send(server, sdkUrl(server, 'stream'), {
      headers: sdkHeaders(server, { accept: 'text/event-stream' }),
      signal,
    });
    if (!response.ok) throw await errorFromResponse(response);
    if (response.body === null)
      throw new CutoverError('SERVER_UNREACHABLE', `the flag stream from ${server.url} has no body`);
    this.options.onOpen();
    const parser = createParser({ onEvent: (event) => this.options.onEvent(event) });
    let idle = this.watchdog();
    try {
      for await (const chunk of response.body.pipeThrough(new TextDecoderStream())) {
        clearTimeout(idle);
        idle = this.watchdog();
        parser.feed(chunk);
      }
    } finally {
      clearTimeout(idle);
    }
  }

  private watchdog(): NodeJS.Timeout {
    const timer = setTimeout(() => this.connection?.abort(), this.options.idleTimeoutMs);
    // The open stream keeps the process alive, not the watchdog.
    timer.unref();
    return timer;
  }
}
