/**
 * What `GET /api/v1/certs` answers for one HTTPS host, and what
 * `cutover certs list` prints: the server builds it (server-certificates.ts),
 * the API sends it, the CLI reads it.
 */
export interface CertificateInfo {
  host: string;
  service: string;
  source: 'acme' | 'files';
  /** Null while an ACME host has no certificate yet. */
  issuer: string | null;
  serial: string | null;
  notAfter: number | null;
  /** When cutover orders again (ACME only): the renewal time, or the retry after a failure. */
  nextRenewalAt: number | null;
  /** The last failed order's message, until an order succeeds. */
  lastError: string | null;
}

/** The outcome of one host's order in `POST /api/v1/certs/renew` (`cutover certs renew`). */
export interface RenewalResult {
  host: string;
  renewed: boolean;
  serial?: string;
  error?: string;
}
