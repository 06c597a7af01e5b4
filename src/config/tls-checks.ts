import { CONFIG_DEFAULTS } from './config-defaults.js';
import { makeIssue, type ConfigIssue, type SourceMap } from './config-issues.js';
import { formatListenAddress, parseListenAddress, sameSocket } from './listen-address.js';

/**
 * Checks across the HTTPS keys (tls-schema.ts): a certificate needs the TLS
 * listener, the listener needs a router that terminates TLS (the embedded
 * proxy or nginx; the HAProxy router does not yet), nginx answers only
 * HTTP-01 challenges, HSTS needs HTTPS, and the listener needs a port of
 * its own. Raw values are read defensively: the schema reports wrong types
 * itself.
 */

type RawMap = Record<string, unknown>;

function isMap(value: unknown): value is RawMap {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function checkTls(raw: RawMap, source: SourceMap | null): ConfigIssue[] {
  const server = isMap(raw.server) ? raw.server : {};
  const services = isMap(raw.services) ? raw.services : {};
  const issues: ConfigIssue[] = [];
  const https = server.https;
  const router = typeof server.router === 'string' ? server.router : CONFIG_DEFAULTS.router;
  if (https === undefined) {
    if (server.redirect_http !== undefined)
      issues.push(
        makeIssue(source, ['server', 'redirect_http'], 'only used with server.https; add https or remove it', 'key'),
      );
  } else {
    if (router === 'haproxy')
      issues.push(
        makeIssue(
          source,
          ['server', 'https'],
          "the haproxy router does not terminate TLS: serve HTTPS with the embedded proxy (router: proxy) or nginx (router: nginx), or keep TLS in haproxy's own config",
          'key',
        ),
      );
    issues.push(...portClashes(server, source));
  }
  for (const [name, service] of Object.entries(services)) {
    if (!isMap(service)) continue;
    if (service.tls !== undefined && https === undefined)
      issues.push(
        makeIssue(
          source,
          ['services', name, 'tls'],
          'needs the TLS listener: add server.https, like https: 127.0.0.1:8443',
          'key',
        ),
      );
    if (router === 'nginx' && isMap(service.tls) && service.tls.acme === 'tls-alpn-01')
      issues.push(
        makeIssue(
          source,
          ['services', name, 'tls', 'acme'],
          'the nginx router answers only HTTP-01 challenges (nginx cannot pick a certificate by ALPN): use tls: acme',
        ),
      );
    if (service.hsts !== undefined && service.tls === undefined)
      issues.push(
        makeIssue(
          source,
          ['services', name, 'hsts'],
          'is sent only over HTTPS: give the service a certificate (tls) or remove hsts',
          'key',
        ),
      );
  }
  return issues;
}

function portClashes(server: RawMap, source: SourceMap | null): ConfigIssue[] {
  const https = parseListenAddress(server.https);
  if (!https.ok) return [];
  const issues: ConfigIssue[] = [];
  for (const key of ['proxy', 'admin'] as const) {
    const written = server[key];
    const other =
      written === undefined ? { ok: true as const, address: CONFIG_DEFAULTS[key] } : parseListenAddress(written);
    if (!other.ok) continue;
    const a = https.address;
    const b = other.address;
    if (sameSocket(a, b))
      issues.push(
        makeIssue(
          source,
          ['server', 'https'],
          `the TLS listener needs its own port; ${formatListenAddress(a)} clashes with server.${key} (${formatListenAddress(b)})`,
        ),
      );
  }
  return issues;
}
