import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';

const kBody = Symbol('cutover.requestBody');

/** The Content-Length a request declares, or -1 (none, or chunked: counted as it streams instead). */
export function declaredLength(rawHeaders: readonly string[]): number {
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    if (name.length === 14 && name.toLowerCase() === 'content-length') {
      const value = Number(rawHeaders[i + 1]);
      return Number.isFinite(value) ? value : -1;
    }
  }
  return -1;
}

interface SourceWithBody extends IncomingMessage {
  [kBody]?: RequestBody | null;
}

/**
 * The client's request body as undici reads it for one attempt: a Readable
 * that pulls from the client request only when undici asks for data, and
 * records whether it ever gave undici anything.
 *
 * Why not hand undici the client request itself: when an upstream connection
 * fails while undici writes a stream body (the socket closes, resets), undici
 * destroys that stream (client-h1.js writeStream, onFinished). A request whose
 * body had not given undici a byte yet has written nothing to the upstream —
 * undici writes a stream body's request head together with its first chunk or
 * at its end (AsyncWriter.write / end) — so it may go to another instance; for
 * that the client request must survive. Undici destroys this wrapper instead,
 * and the exchange makes a new one over the same, untouched client request.
 *
 * `handedOver` is set as soon as a chunk or the end is pushed, even if undici
 * has not taken it from our buffer yet: a retry is allowed only while nothing
 * at all left the client request, so nothing can be lost or sent twice.
 *
 * Cost: requests with a body only (one Readable and its state, three listeners
 * on the client request, all shared functions: no closure per request).
 */
export class RequestBody extends Readable {
  /** A chunk or the end went to undici (or to this stream's buffer, on its way there). */
  handedOver = false;
  /** The client request failed (the client went away mid-upload): not the upstream's fault. */
  sourceFailed = false;
  /** The body passed the service's `max_body` (a chunked one, whose size was not declared): the answer is 413. */
  tooLarge = false;
  private received = 0;
  private source: SourceWithBody | null;
  private listening = false;
  /** undici asked for data and has not been told to wait (push returned false). */
  private wanted = false;

  constructor(
    source: IncomingMessage,
    /** Most bytes the service takes (`max_body`), or null. */
    private readonly limit: number | null = null,
  ) {
    super();
    this.source = source;
  }

  override _read(): void {
    this.wanted = true;
    this.pull();
  }

  /** Moves what the client request holds into this stream, as far as undici wants it. */
  pull(): void {
    const source = this.source;
    if (source === null) return;
    while (this.wanted) {
      const chunk = source.read() as Buffer | null;
      if (chunk === null) break;
      this.received += chunk.length;
      if (this.limit !== null && this.received > this.limit) {
        // Not a byte more goes on: undici aborts the upstream request, and the exchange answers 413.
        this.tooLarge = true;
        this.release(false);
        this.destroy(new Error('request body larger than max_body'));
        return;
      }
      this.handedOver = true;
      this.wanted = this.push(chunk);
    }
    if (!this.listening) {
      // Attached on the first read, in the same tick as the read that may end the source ('end' comes a tick later).
      this.listening = true;
      source[kBody] = this;
      source.on('readable', onSourceReadable);
      source.on('end', onSourceEnd);
      source.on('error', onSourceError);
    }
  }

  /**
   * Lets go of the client request: this wrapper reads no more of it. With
   * `drain`, a client request not read to its end is read and discarded (as
   * Node does for a body nobody reads), so the client connection can carry
   * its next request once the response is out.
   */
  release(drain: boolean): void {
    const source = this.source;
    if (source === null) return;
    this.source = null;
    if (this.listening) {
      this.listening = false;
      source[kBody] = null;
      source.off('readable', onSourceReadable);
      source.off('end', onSourceEnd);
      source.off('error', onSourceError);
    }
    if (drain && !source.complete && !source.destroyed) source.resume();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    // undici destroys the body when the request ends, fails or is aborted; a retry released it already.
    this.release(true);
    callback(err);
  }

  /** The client request ended: undici gets the end (and may write the request's last bytes, or its head). */
  sourceEnded(): void {
    this.handedOver = true;
    this.push(null);
    this.release(false);
  }
}

function onSourceReadable(this: SourceWithBody): void {
  this[kBody]?.pull();
}

function onSourceEnd(this: SourceWithBody): void {
  this[kBody]?.sourceEnded();
}

function onSourceError(this: SourceWithBody, err: Error): void {
  const body = this[kBody];
  if (body === undefined || body === null) return;
  body.sourceFailed = true;
  body.release(false);
  // undici listens for the body's errors and aborts the upstream request: a cut upload must not look complete.
  body.destroy(err);
}
