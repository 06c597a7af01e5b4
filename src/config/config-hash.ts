import { createHash } from 'node:crypto';
import type { ServiceConfig } from './types.js';

/**
 * Tells whether a release's config changed: sha256 of the resolved service
 * config (before redaction, so a changed secret counts) as canonical JSON,
 * keys sorted at every level so the order of keys in cutover.yaml does not
 * matter. Arrays keep their order.
 */
export function configHash(service: ServiceConfig): string {
  return createHash('sha256').update(canonicalJson(service)).digest('hex');
}

export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const item = (value as Record<string, unknown>)[key];
    if (item !== undefined) sorted[key] = sortKeys(item);
  }
  return sorted;
}
