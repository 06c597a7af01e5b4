import { readFileSync } from 'node:fs';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { servedHosts } from '../config/served-hosts.js';
import type { CutoverConfig, ServiceConfig } from '../config/types.js';
import { CutoverError } from '../core/errors.js';
import type { TlsRoute } from '../router/index.js';

/** Largest certificate chain or key file read: a chain of a few certificates is a few KiB. */
const MAX_PEM_BYTES = 256 * 1024;

/**
 * The team's own certificates (`services.<name>.tls: { cert, key }`), read
 * and checked before the server changes anything: each file readable and
 * PEM, the key the leaf's, the leaf valid now and issued for every host of
 * the service. A problem names the field and the host, so a start or a
 * reload with a bad certificate fails with nothing changed, rather than
 * serving a certificate browsers refuse.
 */
export function loadServiceCertificates(config: CutoverConfig, now: Date = new Date()): Map<string, TlsRoute> {
  const routes = new Map<string, TlsRoute>();
  for (const service of Object.values(config.services)) {
    const route = loadServiceCertificate(service, now);
    if (route !== null) routes.set(service.name, route);
  }
  return routes;
}

function loadServiceCertificate(service: ServiceConfig, now: Date): TlsRoute | null {
  if (service.tls?.source !== 'files') return null;
  const field = `services.${service.name}.tls`;
  const certPem = readPem(service.tls.certFile, `${field}.cert`);
  const keyPem = readPem(service.tls.keyFile, `${field}.key`);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(certPem);
  } catch (error) {
    throw invalid(`${field}.cert: ${service.tls.certFile} is not a PEM certificate (${(error as Error).message})`);
  }
  let keyMatches: boolean;
  try {
    keyMatches = leaf.checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    // Never the key's text in a message: only that it does not parse.
    throw invalid(`${field}.key: ${service.tls.keyFile} is not a PEM private key`);
  }
  if (!keyMatches)
    throw invalid(`${field}.key: ${service.tls.keyFile} is not the key of the certificate in ${service.tls.certFile}`);
  const notAfter = new Date(leaf.validTo);
  if (notAfter.getTime() <= now.getTime())
    throw invalid(`${field}.cert: the certificate in ${service.tls.certFile} expired on ${notAfter.toISOString()}`);
  for (const host of servedHosts(service)) {
    if (leaf.checkHost(host) === undefined)
      throw invalid(
        `${field}.cert: the certificate in ${service.tls.certFile} is not issued for host '${host}' (it names ${leaf.subjectAltName ?? leaf.subject})`,
      );
  }
  const route: TlsRoute = { certificates: [{ hosts: servedHosts(service), certPem, keyPem }] };
  if (service.hsts !== undefined) route.hsts = hstsValue(service.hsts);
  return route;
}

/** The Strict-Transport-Security value of `hsts`. */
export function hstsValue(hsts: { maxAgeSec: number; includeSubdomains: boolean }): string {
  return `max-age=${hsts.maxAgeSec}${hsts.includeSubdomains ? '; includeSubDomains' : ''}`;
}

function readPem(file: string, field: string): string {
  let text: string;
  try {
    const bytes = readFileSync(file);
    if (bytes.length > MAX_PEM_BYTES) throw new Error(`${bytes.length} bytes, more than ${MAX_PEM_BYTES}`);
    text = bytes.toString('utf8');
  } catch (error) {
    throw invalid(`${field}: cannot read ${file}: ${(error as Error).message}`);
  }
  if (!text.includes('-----BEGIN ')) throw invalid(`${field}: ${file} is not PEM (no -----BEGIN line)`);
  return text;
}

function invalid(message: string): CutoverError {
  return new CutoverError('CONFIG_INVALID', message, {
    hint: 'Point tls.cert at the PEM chain (leaf first) issued for every host of the service and tls.key at its key; nothing was changed.',
  });
}
