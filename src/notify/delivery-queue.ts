import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { request, type Dispatcher } from 'undici';
import { formatDuration } from '../config/duration.js';
import type { NotificationTargetConfig } from '../config/types.js';
import { splitCredentials } from '../core/url-credentials.js';
import { scrubSecrets, targetLabel } from './target-redaction.js';

/**
 * The notifications waiting for one target, sent one at a time so the
 * target sees them in the order they happened. Each attempt has its own time
 * limit; a failed one (no connection, timeout, 408, 429, 5xx) is tried again
 * after a backoff that doubles, up to `retries` more times; then the
 * notification is dropped with an error in the log. The queue is bounded: a
 * target that is down for long loses its oldest notifications (with a
 * warning), never the server's memory. Nothing here is awaited by a deploy.
 */
export interface OutgoingRequest {
  /** For logs: "deploy.started of web (evt-12)". */
  label: string;
  body: string;
  /** The headers of one attempt (a webhook signs each attempt with its own timestamp). */
  headers(nowMs: number): Record<string, string>;
}

/** Retry-After and the doubling backoff never wait longer than this. */
export const MAX_BACKOFF_MS = 60_000;

type AttemptResult = { ok: true } | { ok: false; retry: boolean; error: string; retryAfterMs: number | null };

export class DeliveryQueue {
  private readonly waiting: OutgoingRequest[] = [];
  private running: Promise<void> | null = null;
  private readonly stopping = new AbortController();
  private readonly label: string;
  /** The target's URL without user info, which goes as basic auth (`https://user:pass@host/hook`). */
  private readonly url: string;
  private readonly authorization: string | null;

  constructor(
    private readonly target: NotificationTargetConfig,
    private readonly deps: { logger: Logger; dispatcher: Dispatcher; now: () => number },
  ) {
    this.label = targetLabel(target);
    ({ url: this.url, authorization: this.authorization } = splitCredentials(target.url));
  }

  /** Queues a notification and returns at once. */
  push(outgoing: OutgoingRequest): void {
    if (this.stopping.signal.aborted) return;
    if (this.waiting.length >= this.target.queueLimit) {
      const dropped = this.waiting.shift()!;
      this.deps.logger.warn(
        { target: this.label, dropped: dropped.label, queueLimit: this.target.queueLimit },
        `notification queue of ${this.target.name} is full (${this.target.queueLimit}): dropped the oldest, ${dropped.label}`,
      );
    }
    this.waiting.push(outgoing);
    this.kick();
  }

  /** Waiting notifications, not counting the one being sent. */
  get pending(): number {
    return this.waiting.length;
  }

  /** Resolves once nothing is waiting or being sent. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Stops at once: the attempt in flight is cancelled, waiting notifications are dropped (and counted in the log). */
  stop(): void {
    if (this.stopping.signal.aborted) return;
    this.stopping.abort(new Error('the server is stopping'));
    if (this.waiting.length > 0) {
      this.deps.logger.warn(
        { target: this.label, dropped: this.waiting.length },
        `${this.waiting.length} notification(s) to ${this.target.name} not sent: the server stopped`,
      );
    }
    this.waiting.length = 0;
  }

  private kick(): void {
    if (this.running || this.stopping.signal.aborted) return;
    this.running = this.drain().finally(() => {
      this.running = null;
      // A push between the loop's last check and here found `running` still set.
      if (this.waiting.length > 0) this.kick();
    });
  }

  private async drain(): Promise<void> {
    for (
      let next = this.waiting.shift();
      next !== undefined && !this.stopping.signal.aborted;
      next = this.waiting.shift()
    ) {
      try {
        await this.deliver(next);
      } catch (error) {
        this.deps.logger.error(
          { target: this.label, notification: next.label, err: error },
          'notification delivery failed unexpectedly',
        );
      }
    }
  }

  private async deliver(outgoing: OutgoingRequest): Promise<void> {
    const { retries, backoffMs } = this.target;
    for (let attempt = 1; ; attempt++) {
      const result = await this.attempt(outgoing);
      if (result.ok || this.stopping.signal.aborted) return;
      if (!result.retry || attempt > retries) {
        this.deps.logger.error(
          { target: this.label, notification: outgoing.label, attempts: attempt, error: result.error },
          `notification ${outgoing.label} to ${this.target.name} dropped after ${attempt} attempt(s): ${result.error}`,
        );
        return;
      }
      const delay = Math.min(MAX_BACKOFF_MS, Math.max(backoffMs * 2 ** (attempt - 1), result.retryAfterMs ?? 0));
      this.deps.logger.warn(
        { target: this.label, notification: outgoing.label, attempt, error: result.error, retryInMs: delay },
        `notification ${outgoing.label} to ${this.target.name} failed (${result.error}); retrying in ${formatDuration(delay)}`,
      );
      try {
        await sleep(delay, undefined, { signal: this.stopping.signal, ref: false });
      } catch {
        return;
      }
    }
  }

  private async attempt(outgoing: OutgoingRequest): Promise<AttemptResult> {
    const timeout = AbortSignal.timeout(this.target.timeoutMs);
    const signal = AbortSignal.any([timeout, this.stopping.signal]);
    try {
      const headers = outgoing.headers(this.deps.now());
      const response = await request(this.url, {
        method: 'POST',
        headers: this.authorization === null ? headers : { ...headers, authorization: this.authorization },
        body: outgoing.body,
        signal,
        dispatcher: this.deps.dispatcher,
      });
      // The answer's body is of no use, but it must be read for the connection to be reused.
      await response.body.dump({ limit: 64 * 1024, signal });
      const status = response.statusCode;
      if (status >= 200 && status < 300) return { ok: true };
      const retry = status === 408 || status === 429 || status >= 500;
      return { ok: false, retry, error: `HTTP ${status}`, retryAfterMs: retryAfterMs(response.headers['retry-after']) };
    } catch (error) {
      if (timeout.aborted)
        return {
          ok: false,
          retry: true,
          error: `no answer within ${formatDuration(this.target.timeoutMs)}`,
          retryAfterMs: null,
        };
      if (this.stopping.signal.aborted)
        return { ok: false, retry: false, error: 'the server is stopping', retryAfterMs: null };
      return {
        ok: false,
        retry: true,
        error: scrubSecrets(describeNetworkError(error), this.target),
        retryAfterMs: null,
      };
    }
  }
}

/** Retry-After in seconds (the HTTP-date form is rare for webhooks and ignored). */
function retryAfterMs(header: string | string[] | undefined): number | null {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || !/^\d+(\.\d+)?$/.test(value.trim())) return null;
  return Math.round(Number(value) * 1000);
}

function describeNetworkError(error: unknown): string {
  const e = error as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e.cause?.code ?? e.code;
  const message = e.cause?.message ?? e.message ?? String(error);
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}
