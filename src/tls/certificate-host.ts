import { isIP } from 'node:net';
import { CutoverError } from '../core/errors.js';

/**
 * A certificate host, checked before it names a file of the state
 * directory or goes into an order: a DNS name of letters, digits and inner
 * hyphens (RFC 1123 labels), lower-cased. That alone rules out path
 * traversal ("..", "/", "\"), NUL and wildcards ("*.example.com": DNS-01
 * only, which cutover does not do). A trailing dot is refused rather than
 * stripped, so one host has one spelling and one file.
 */
export const MAX_HOST_LENGTH = 253;
const MAX_LABEL_LENGTH = 63;
const LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

export function certificateHost(input: unknown): string {
  const refuse = (why: string): never => {
    const shown = typeof input === 'string' ? JSON.stringify(input.slice(0, 80)) : typeof input;
    throw new CutoverError('CERTIFICATE_HOST_INVALID', `${shown} is not a certificate host: ${why}`);
  };
  if (typeof input !== 'string') return refuse('expected a string');
  if (input.length === 0) return refuse('it is empty');
  if (input.length > MAX_HOST_LENGTH) return refuse(`it is longer than ${MAX_HOST_LENGTH} characters`);
  const host = input.toLowerCase();
  if (isIP(host) !== 0) return refuse('it is an IP address; ACME certificates here are for DNS names');
  for (const label of host.split('.')) {
    if (label.length === 0) return refuse('it has an empty label (two dots in a row, or a dot at an end)');
    if (label.length > MAX_LABEL_LENGTH) return refuse(`a label is longer than ${MAX_LABEL_LENGTH} characters`);
    if (!LABEL.test(label))
      return refuse('a label holds something other than letters, digits and inner hyphens (no wildcards, no slashes)');
  }
  // An all-digit last label would read as an IPv4 address to many resolvers (RFC 3696 §2).
  if (/^[0-9]+$/.test(host.slice(host.lastIndexOf('.') + 1))) return refuse('its last label is all digits');
  return host;
}
