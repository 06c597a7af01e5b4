import type { CertificateInfo, RenewalResult } from '../../core/certificate-info.js';
import type { AdminClient } from '../admin-client.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { bold, printJson, red, yellow } from '../output.js';

/** Certificates expiring sooner than this are shown in yellow, as doctor warns. */
const EXPIRING_SOON_MS = 14 * 24 * 3600_000;

/** `cutover certs list`: each HTTPS host, where its certificate comes from, who issued it, until when, next renewal. */
export async function runCertsList(client: AdminClient, json: boolean): Promise<ExitCode> {
  const answer = await client.request<{ certificates: CertificateInfo[] }>('GET', '/api/v1/certs');
  if (json) {
    printJson(answer);
    return EXIT.OK;
  }
  if (answer.certificates.length === 0) {
    process.stdout.write('no service is served over HTTPS (give one tls: acme, or tls: { cert, key })\n');
    return EXIT.OK;
  }
  const now = Date.now();
  for (const line of answer.certificates) {
    const expiry =
      line.notAfter === null
        ? red('no certificate yet')
        : line.notAfter - now < EXPIRING_SOON_MS
          ? yellow(`expires ${new Date(line.notAfter).toISOString()}`)
          : `expires ${new Date(line.notAfter).toISOString()}`;
    const renewal =
      line.source === 'files'
        ? 'renewed by the team (cutover reload reads the files again)'
        : line.nextRenewalAt === null
          ? ''
          : `next renewal ${new Date(line.nextRenewalAt).toISOString()}`;
    process.stdout.write(
      `${bold(line.host)}  ${line.service}  ${line.source}  ${line.issuer ?? '-'}  ${expiry}  ${renewal}\n`,
    );
    if (line.lastError !== null) process.stdout.write(`  ${red('last order failed:')} ${line.lastError}\n`);
  }
  return EXIT.OK;
}

/** `cutover certs renew [host] [--force]`: orders now and waits; a failed order keeps the old certificate serving. */
export async function runCertsRenew(
  client: AdminClient,
  host: string | undefined,
  force: boolean,
  json: boolean,
): Promise<ExitCode> {
  const answer = await client.request<{
    results: RenewalResult[];
  }>('POST', '/api/v1/certs/renew', { ...(host === undefined ? {} : { host }), force });
  if (json) printJson(answer);
  else if (answer.results.length === 0)
    process.stdout.write('nothing is due for renewal (--force renews every ACME certificate now)\n');
  else
    for (const result of answer.results)
      process.stdout.write(
        result.renewed
          ? `${bold(result.host)} renewed (serial ${result.serial ?? '?'}): new handshakes get it, open connections keep theirs\n`
          : `${bold(result.host)} ${red('not renewed')}: ${result.error ?? 'unknown error'} (the current certificate keeps serving)\n`,
      );
  return answer.results.every((result) => result.renewed) ? EXIT.OK : EXIT.FAILED;
}
