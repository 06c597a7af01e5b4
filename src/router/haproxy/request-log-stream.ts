import net from 'node:net';
import type { Logger } from 'pino';
import { commandLine } from './haproxy-runtime-api.js';
import { REQUEST_LOG_MAX_LINE, REQUEST_LOG_RING } from './request-log-line.js';

export interface RequestLogStreamOptions {
  socketPath: string;
  /** Each complete line, without its newline. */
  onLine: (line: string) => void;
  logger?: Logger | undefined;
}

/** After a reload, the old worker's stream is closed once quiet this long (it finished what it had in flight)... */
const RETIRE_QUIET_MS = 500;
/** ...or this long after the reload at most: an attached reader keeps an old worker alive. */
const RETIRE_MAX_MS = 5_000;
const RECONNECT_MIN_MS = 200;
const RECONNECT_MAX_MS = 5_000;

interface Attachment {
  socket: net.Socket;
  partial: string;
  /** True while the bytes of an overlong line are skipped, up to its newline. */
  discarding: boolean;
  lastDataAt: number;
}

/**
 * Follows the request log ring of the running HAProxy worker
 * (`show events <ring> -w` on the stats socket: what the ring holds, then each
 * new line as it is written). HAProxy keeps a ring per worker and a reload
 * starts a new one, so after each reload `reattach` follows the new worker's
 * from its start, and lets go of the old worker's once it has gone quiet (an
 * attached reader would keep the old worker alive until hard-stop-after).
 * A stream that ends on its own (the worker stopped, the socket timed out) is
 * followed again from its end, after a growing pause; lines written meanwhile
 * are not seen, which only makes the sample smaller.
 *
 * Bounded: a line longer than REQUEST_LOG_MAX_LINE is skipped whole; the
 * socket's own buffers bound the rest (HAProxy drops log lines when the
 * reader falls behind and the ring is full, it never waits for cutover).
 */
export class RequestLogStream {
  private readonly options: RequestLogStreamOptions;
  private current: Attachment | null = null;
  private readonly retiring = new Set<Attachment>();
  private reconnectTimer: NodeJS.Timeout | null = null;
  private reconnectDelayMs = RECONNECT_MIN_MS;
  private closed = false;
  private warned = false;

  constructor(options: RequestLogStreamOptions) {
    this.options = options;
  }

  /** Follows the worker that answers the socket now, from the oldest line its ring holds; no-op when following. */
  start(): void {
    if (this.current !== null || this.reconnectTimer !== null) return;
    this.attach(true);
  }

  /** A reload started a new worker (its generation is served): follows its ring, retires the old stream. */
  reattach(): void {
    if (this.closed) return;
    const previous = this.current;
    this.current = null;
    if (previous !== null) this.retire(previous);
    this.attach(true);
  }

  close(): void {
    this.closed = true;
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.current?.socket.destroy();
    this.current = null;
    for (const attachment of this.retiring) attachment.socket.destroy();
    this.retiring.clear();
  }

  private attach(fromStart: boolean): void {
    if (this.closed) return;
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    const socket = net.createConnection(this.options.socketPath);
    const attachment: Attachment = { socket, partial: '', discarding: false, lastDataAt: performance.now() };
    this.current = attachment;
    socket.unref();
    socket.on('connect', () => {
      socket.write(`${commandLine(['show', 'events', REQUEST_LOG_RING, fromStart ? '-w' : '-nw'])}\n`);
    });
    socket.on('data', (chunk: Buffer) => {
      attachment.lastDataAt = performance.now();
      if (this.current === attachment) this.reconnectDelayMs = RECONNECT_MIN_MS;
      this.take(attachment, chunk);
    });
    socket.on('error', (error) => {
      if (this.current === attachment && !this.warned) {
        this.warned = true;
        this.options.logger?.warn({ err: error }, 'the haproxy request log stream failed; following it again');
      }
    });
    socket.on('close', () => {
      this.retiring.delete(attachment);
      if (this.current !== attachment || this.closed) return;
      this.current = null;
      this.reconnectTimer = setTimeout(() => this.attach(false), this.reconnectDelayMs);
      this.reconnectTimer.unref();
      this.reconnectDelayMs = Math.min(RECONNECT_MAX_MS, this.reconnectDelayMs * 2);
    });
  }

  private retire(attachment: Attachment): void {
    this.retiring.add(attachment);
    const since = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      if (now - attachment.lastDataAt >= RETIRE_QUIET_MS || now - since >= RETIRE_MAX_MS || this.closed) {
        clearInterval(timer);
        attachment.socket.destroy();
        this.retiring.delete(attachment);
      }
    }, RETIRE_QUIET_MS / 5);
    timer.unref();
  }

  private take(attachment: Attachment, chunk: Buffer): void {
    // The lines are ASCII (rendered names and numbers), so a chunk never splits a character that matters.
    const text = attachment.partial + chunk.toString('latin1');
    let start = 0;
    for (;;) {
      const end = text.indexOf('\n', start);
      if (end < 0) break;
      if (!attachment.discarding && end - start <= REQUEST_LOG_MAX_LINE) this.deliver(text.slice(start, end));
      attachment.discarding = false;
      start = end + 1;
    }
    attachment.partial = text.slice(start);
    if (attachment.partial.length > REQUEST_LOG_MAX_LINE) {
      attachment.partial = '';
      attachment.discarding = true;
    }
  }

  private deliver(line: string): void {
    try {
      this.options.onLine(line);
    } catch (error) {
      this.options.logger?.warn({ err: error }, 'a haproxy request log line could not be counted');
    }
  }
}
