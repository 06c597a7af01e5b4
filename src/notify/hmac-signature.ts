import { createHmac } from 'node:crypto';

/**
 * The signature of a webhook delivery, as Stripe and Slack sign theirs:
 *
 *   X-Cutover-Timestamp: <unix seconds of this attempt>
 *   X-Cutover-Signature: sha256=<hex HMAC-SHA256 of `${timestamp}.${raw body}` keyed with the secret>
 *
 * A receiver recomputes the HMAC over the raw body bytes it got (before any
 * JSON parsing), compares it in constant time (crypto.timingSafeEqual), and
 * refuses a timestamp more than a few minutes from its own clock, so a
 * captured request cannot be replayed later. The timestamp is the attempt's:
 * a retry is signed again.
 */
export const SIGNATURE_HEADER = 'X-Cutover-Signature';
export const TIMESTAMP_HEADER = 'X-Cutover-Timestamp';

export function signPayload(secret: string, timestampSeconds: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestampSeconds}.${body}`).digest('hex')}`;
}

export function signatureHeaders(secret: string, body: string, nowMs: number): Record<string, string> {
  const timestamp = Math.floor(nowMs / 1000);
  return { [TIMESTAMP_HEADER]: String(timestamp), [SIGNATURE_HEADER]: signPayload(secret, timestamp, body) };
}
