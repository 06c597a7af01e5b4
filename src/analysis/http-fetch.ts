import type { Dispatcher } from 'undici';
import { formatDuration } from '../config/duration.js';
import { describeError, printable } from './index.js';

/**
 * One HTTP request of a metric provider, with its time limit covering the
 * whole exchange (connect, headers and body), the body read as text up to a
 * size limit, and every failure turned into an error message: providers
 * never throw.
 */
export interface RequestOutcome {
  status: number;
  text: string;
}

export interface FetchOptions {
  timeoutMs: number;
  /** The caller's cancellation (the step ended). */
  signal?: AbortSignal | undefined;
  /** Who is asked, for messages: "Prometheus at http://...". */
  what: string;
}

/** A metric answer is a number or a small JSON document; anything bigger is a misconfigured URL. */
export const MAX_BODY_BYTES = 1024 * 1024;

export async function fetchText(
  send: (signal: AbortSignal) => Promise<Dispatcher.ResponseData>,
  options: FetchOptions,
): Promise<RequestOutcome | { error: string }> {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal === undefined ? timeout : AbortSignal.any([timeout, options.signal]);
  try {
    const response = await send(signal);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body) {
      const buffer = chunk as Buffer;
      size += buffer.length;
      if (size > MAX_BODY_BYTES) {
        response.body.destroy();
        return { error: `${options.what} sent more than ${MAX_BODY_BYTES / 1024} KiB; is the URL right?` };
      }
      chunks.push(buffer);
    }
    return { status: response.statusCode, text: Buffer.concat(chunks).toString('utf8') };
  } catch (error) {
    if (timeout.aborted) return { error: `${options.what} did not answer within ${formatDuration(options.timeoutMs)}` };
    if (options.signal?.aborted) return { error: 'measurement cancelled' };
    return { error: `cannot reach ${options.what}: ${describeError(error)}` };
  }
}

/** A response body shortened to one line, for an error message; its control characters written out. */
export function snippet(text: string): string {
  const flat = printable(text.replace(/\s+/g, ' ').trim());
  return flat.length > 200 ? `${flat.slice(0, 197)}...` : flat;
}
