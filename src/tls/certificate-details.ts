import { X509Certificate } from 'node:crypto';

/**
 * What `certs list`, the renewal schedule and the store need to know of a
 * certificate, read from the leaf (the first PEM block of the chain).
 */
export interface CertificateDetails {
  /** The issuer's distinguished name, one `key=value` a line as node:crypto gives it. */
  issuer: string;
  /** Upper-case hex, as node:crypto gives it. */
  serial: string;
  notBefore: number;
  notAfter: number;
  /** The DNS names of subjectAltName, lower-cased. */
  dnsNames: string[];
  /** SHA-256 fingerprint of the leaf, colon-separated hex. */
  fingerprint256: string;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The PEM blocks of a chain, leaf first. */
export function splitPemChain(chainPem: string): string[] {
  return chainPem.match(PEM_CERTIFICATE) ?? [];
}

export function certificateDetails(chainPem: string): CertificateDetails {
  const leaf = splitPemChain(chainPem)[0];
  if (!leaf) throw new Error('no PEM certificate in the chain');
  const cert = new X509Certificate(leaf);
  return {
    issuer: cert.issuer,
    serial: cert.serialNumber.toUpperCase(),
    notBefore: Date.parse(cert.validFrom),
    notAfter: Date.parse(cert.validTo),
    dnsNames: dnsNamesOf(cert.subjectAltName),
    fingerprint256: cert.fingerprint256,
  };
}

/** `DNS:a.example, DNS:b.example, IP Address:1.2.3.4` → the DNS names. */
function dnsNamesOf(subjectAltName: string | undefined): string[] {
  if (!subjectAltName) return [];
  return subjectAltName
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.startsWith('DNS:'))
    .map((entry) => entry.slice(4).toLowerCase());
}
