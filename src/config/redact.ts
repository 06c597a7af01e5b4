import type { ServiceConfig } from './types.js';

/**
 * Secret values never leave the process: snapshots in the store, logs and API
 * answers go through these. A key is secret when the service lists it in
 * `secrets` or its name looks like one; matching is by key, so a value that
 * came from `${NAME}` substitution is redacted like one written inline.
 */
export const REDACTED = '[redacted]';

export const SECRET_KEY_PATTERN = /(secret|token|password|passwd|pass|api[_-]?key|private[_-]?key|credential|auth)/i;

export function isSecretKey(key: string, secretKeys: readonly string[] = []): boolean {
  // Case-insensitive on purpose: redacting one key too many is harmless, one too few is a leak.
  const lower = key.toLowerCase();
  return SECRET_KEY_PATTERN.test(key) || secretKeys.some((secret) => secret.toLowerCase() === lower);
}

export function redactEnv(env: Readonly<Record<string, string>>, secretKeys: readonly string[] = []): Record<string, string> {
  const copy: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) copy[key] = isSecretKey(key, secretKeys) ? REDACTED : value;
  return copy;
}

/** A JSON-safe copy of a service config with its env redacted; the store keeps release snapshots through this. */
export function redactServiceConfig(service: ServiceConfig): ServiceConfig {
  const snapshot = structuredClone(service);
  snapshot.env = redactEnv(service.env, service.secrets);
  return snapshot;
}
