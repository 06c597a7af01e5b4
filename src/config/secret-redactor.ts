import { isSecretKey, REDACTED } from './redact.js';
import type { CutoverConfig } from './types.js';

/**
 * Redaction by value, applied where text leaves the process (API answers,
 * /metrics, logs, the dashboard stream, notification payloads). Redacting
 * by key name alone missed secrets under innocent names (DATABASE_URL,
 * STRIPE_KEY) and secrets inside free text (an error that quotes a URL), so
 * this knows the secret values themselves and replaces every occurrence,
 * plus any URL password and sensitive query parameter in any text.
 *
 * Values shorter than MIN_SECRET_LENGTH are not matched: replacing "true" or
 * "none" everywhere would garble every answer, and a secret that short is no
 * secret anyway (the server refuses tokens under 32 characters). Pure.
 */
export const MIN_SECRET_LENGTH = 6;

/** Env names whose values are secret even without a secret-looking word in them. */
const SECRET_NAME = /(secret|token|password|passwd|pass|pwd|key|credential|auth|signature|database_url|dsn|private)/i;

/** Query parameters that carry credentials (`?password=`, `?api_key=`, `?sig=`). */
const SENSITIVE_PARAMETER =
  /^(password|passwd|pass|pwd|secret|token|access_token|refresh_token|id_token|api[_-]?key|apikey|key|auth|authorization|credentials?|signature|sig|client_secret|private_key)$/i;

const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/?#@"'<>]*:)([^\s/?#@"'<>]+)@/gi;
const QUERY_PARAMETER = /([?&;]|&amp;)([A-Za-z0-9_.-]+)=([^&\s#"'<>\\]+)/g;

export class SecretRedactor {
  private secrets: string[];
  private readonly values: Set<string>;

  constructor(values: Iterable<string>) {
    this.values = new Set(values);
    this.secrets = SecretRedactor.forms(this.values);
  }

  /** Adds secrets (a reloaded config's): everything redacted from now on hides them too. */
  learn(values: Iterable<string>): void {
    for (const value of values) this.values.add(value);
    this.secrets = SecretRedactor.forms(this.values);
  }

  private static forms(values: Iterable<string>): string[] {
    const unique = new Set<string>();
    for (const value of values) {
      if (value.length < MIN_SECRET_LENGTH) continue;
      unique.add(value);
      // The same value as it appears inside JSON text (quotes, backslashes escaped) and URL-encoded.
      unique.add(JSON.stringify(value).slice(1, -1));
      unique.add(encodeURIComponent(value));
    }
    // Longest first, so a secret that contains another is replaced whole.
    return [...unique].filter((value) => value.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
  }

  static none(): SecretRedactor {
    return new SecretRedactor([]);
  }

  /** The text with every known secret, URL password and sensitive query value replaced by [redacted]. */
  redactText(text: string): string {
    let result = text;
    for (const secret of this.secrets) if (result.includes(secret)) result = result.replaceAll(secret, REDACTED);
    if (result.includes('://'))
      result = result.replace(URL_PASSWORD, (_whole, head: string, password: string) =>
        password === REDACTED ? _whole : `${head}${REDACTED}@`,
      );
    if (result.includes('=')) {
      result = result.replace(QUERY_PARAMETER, (whole, separator: string, name: string) =>
        SENSITIVE_PARAMETER.test(name) ? `${separator}${name}=${REDACTED}` : whole,
      );
    }
    return result;
  }

  /** A copy of a JSON-like value with every string redacted (keys are kept). */
  redactValue<T>(value: T): T {
    return redactDeep(value, this) as T;
  }
}

function redactDeep(value: unknown, redactor: SecretRedactor): unknown {
  if (typeof value === 'string') return redactor.redactText(value);
  if (Array.isArray(value)) return value.map((item) => redactDeep(item, redactor));
  if (value !== null && typeof value === 'object') {
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) copy[key] = redactDeep(item, redactor);
    return copy;
  }
  return value;
}

/** True for an env name whose value is a secret: the redact.ts patterns, and names like DATABASE_URL or STRIPE_KEY. */
export function isSecretName(name: string, listed: readonly string[] = []): boolean {
  return SECRET_NAME.test(name) || isSecretKey(name, listed);
}

/**
 * Every secret value the config holds: values substituted from a secret
 * `${NAME}` (recorded at load), service env values under secret names or in
 * `secrets`, URL passwords and sensitive query values of every URL in the
 * config (databases, web and Prometheus providers, notification targets),
 * secret-looking web provider headers and webhook secrets; plus the tokens.
 */
export function secretValuesOf(config: CutoverConfig, tokens: readonly string[] = []): string[] {
  const values: string[] = [...(config.secretValues ?? []), ...tokens];
  const urls: string[] = [];
  for (const service of Object.values(config.services)) {
    for (const [name, value] of Object.entries(service.env)) {
      if (isSecretName(name, service.secrets)) values.push(value);
      if (value.includes('://')) urls.push(value);
    }
    if (service.database) {
      values.push(service.database.url);
      urls.push(service.database.url);
    }
  }
  for (const template of Object.values(config.analysis)) {
    for (const metric of template.metrics) {
      const provider = metric.provider;
      if (provider.type === 'web') {
        urls.push(provider.url);
        for (const [name, value] of Object.entries(provider.headers))
          if (isSecretName(name)) values.push(value, value.replace(/^(Bearer|Basic|Token)\s+/i, ''));
      } else if (provider.type === 'prometheus') {
        urls.push(provider.url);
      }
    }
  }
  for (const target of config.notifications) {
    urls.push(target.url);
    if (target.secret !== null) values.push(target.secret);
    // Slack and Discord webhook URLs hold their token in the path: the whole URL is a secret.
    if (target.type !== 'webhook') values.push(target.url);
  }
  for (const text of urls) values.push(...secretsInUrl(text));
  return values;
}

function secretsInUrl(text: string): string[] {
  try {
    const url = new URL(text);
    const found: string[] = [];
    if (url.password !== '') found.push(url.password, decodeURIComponent(url.password));
    for (const [name, value] of url.searchParams)
      if (SENSITIVE_PARAMETER.test(name) || isSecretName(name)) found.push(value);
    return found;
  } catch {
    return [];
  }
}
