import type { AnalysisTemplateConfig, ServiceConfig } from './types.js';

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

export function redactEnv(
  env: Readonly<Record<string, string>>,
  secretKeys: readonly string[] = [],
): Record<string, string> {
  const copy: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) copy[key] = isSecretKey(key, secretKeys) ? REDACTED : value;
  return copy;
}

/** A JSON-safe copy of a service config with its env redacted; the store keeps release snapshots through this. */
export function redactServiceConfig(service: ServiceConfig): ServiceConfig {
  const snapshot = structuredClone(service);
  snapshot.env = redactEnv(service.env, service.secrets);
  if (snapshot.database) snapshot.database.url = redactUrl(snapshot.database.url);
  return snapshot;
}

/**
 * Analysis templates as they may be shown (API, logs, release history): web
 * headers whose names look secret (Authorization, X-Api-Key, ...) and the
 * password of a URL with credentials are redacted. Bodies and queries are kept.
 */
export function redactAnalysisTemplates(
  templates: Readonly<Record<string, AnalysisTemplateConfig>>,
): Record<string, AnalysisTemplateConfig> {
  const copy = structuredClone(templates) as Record<string, AnalysisTemplateConfig>;
  for (const template of Object.values(copy)) {
    for (const metric of template.metrics) {
      const provider = metric.provider;
      if (provider.type === 'web') {
        provider.url = redactUrl(provider.url);
        provider.headers = redactEnv(provider.headers);
      } else if (provider.type === 'prometheus') {
        provider.url = redactUrl(provider.url);
      }
    }
  }
  return copy;
}

/** A URL with its password (if any) replaced by [redacted]; text that is no URL is kept. */
export function redactUrl(text: string): string {
  try {
    const url = new URL(text);
    // libpq also takes the password (and a key's passphrase) as query parameters.
    const secretParameters = ['password', 'sslpassword'].filter((name) => url.searchParams.has(name));
    if (url.password === '' && secretParameters.length === 0) return text;
    for (const name of secretParameters) url.searchParams.set(name, 'x');
    if (url.password !== '') url.password = 'x';
    return url
      .toString()
      .replace(/:x@/, `:${REDACTED}@`)
      .replace(/([?&](?:ssl)?password=)x(?=&|$)/g, `$1${REDACTED}`);
  } catch {
    return text;
  }
}
