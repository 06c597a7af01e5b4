import { readFile } from 'node:fs/promises';
import { X509Certificate } from 'node:crypto';
import { servedHosts } from '../config/served-hosts.js';
import type { CutoverConfig, ServiceConfig } from '../config/types.js';
import { CertificateStore } from '../tls/certificate-store.js';
import type { CheckResult } from './check-result.js';

/** A certificate closer than this to its end is worth a warning: ACME renews at 30 days, so it is overdue. */
const EXPIRING_SOON_MS = 14 * 24 * 3600_000;

/**
 * Every HTTPS host: a certificate that is valid now, issued for the host,
 * and not expiring within 14 days. The team's files are read as the server
 * reads them; ACME certificates from the state directory, where the server
 * keeps them (a host without one yet is a warning: the server orders it
 * when it starts, once DNS points here).
 */
export async function checkCertificates(config: CutoverConfig, now: number = Date.now()): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const store = new CertificateStore(config.server.stateDir);
  for (const service of Object.values(config.services)) {
    if (service.tls === undefined) continue;
    for (const host of servedHosts(service)) results.push(await checkHost(service, host, store, now));
  }
  return results;
}

async function checkHost(
  service: ServiceConfig,
  host: string,
  store: CertificateStore,
  now: number,
): Promise<CheckResult> {
  const id = `tls.${host}`;
  let certPem: string;
  if (service.tls?.source === 'files') {
    const file = service.tls.certFile;
    const read = await readFile(file, 'utf8').catch((error: Error) => error);
    if (read instanceof Error)
      return {
        id,
        status: 'fail',
        message: `${host}: cannot read ${file} (services.${service.name}.tls.cert): ${read.message}`,
        fix: 'Point tls.cert at the PEM chain issued for the host.',
      };
    certPem = read;
  } else {
    const stored = await store.read(host).catch(() => null);
    if (stored === null)
      return {
        id,
        status: 'warn',
        message: `${host}: no certificate from the ACME CA yet; it is served without HTTPS until the server's first order succeeds`,
        fix: `Point the DNS of ${host} at this machine (the CA connects to port 80 or 443), start cutover server, and watch \`cutover certs list\`.`,
      };
    certPem = stored.certPem;
  }
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(certPem);
  } catch {
    return {
      id,
      status: 'fail',
      message: `${host}: the certificate is not PEM`,
      fix: 'Replace it with the PEM chain.',
    };
  }
  const notAfter = Date.parse(leaf.validTo);
  const renew =
    service.tls?.source === 'files'
      ? 'Renew the files and run `cutover reload`.'
      : `Run \`cutover certs renew ${host}\` and read the CA's answer.`;
  if (leaf.checkHost(host) === undefined)
    return { id, status: 'fail', message: `${host}: the certificate is not issued for this host`, fix: renew };
  if (notAfter <= now)
    return { id, status: 'fail', message: `${host}: the certificate expired on ${leaf.validTo}`, fix: renew };
  if (notAfter - now < EXPIRING_SOON_MS)
    return {
      id,
      status: 'warn',
      message: `${host}: the certificate expires within 14 days (${new Date(notAfter).toISOString()})`,
      fix: renew,
    };
  return {
    id,
    status: 'ok',
    message: `${host}: valid until ${new Date(notAfter).toISOString()} (${service.tls?.source === 'files' ? 'files' : 'ACME'})`,
  };
}
