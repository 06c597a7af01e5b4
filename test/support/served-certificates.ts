import assert from 'node:assert/strict';
import tls from 'node:tls';

/** One line of `cutover certs list --json`. */
export interface CertLine {
  host: string;
  service: string;
  source: string;
  issuer: string | null;
  serial: string | null;
  notAfter: number | null;
  nextRenewalAt: number | null;
  lastError: string | null;
}

/** `cutover certs list --json` through `cli`, which must succeed. */
export async function listCertificates(
  cli: (...args: string[]) => Promise<{ code: number | null; stdout: string; stderr: string }>,
): Promise<CertLine[]> {
  const listed = await cli('certs', 'list', '--json');
  assert.equal(listed.code, 0, listed.stderr);
  return (JSON.parse(listed.stdout) as { certificates: CertLine[] }).certificates;
}

/**
 * The leaf a new handshake with this SNI gets on 127.0.0.1:port, and whether its chain verifies against
 * `ca` (the handshake is not refused when it does not: the test reads why).
 */
export function servedCertificate(
  port: number,
  ca: string,
  host: string,
): Promise<{ serial: string; authorized: boolean; error: string | null }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca, servername: host, rejectUnauthorized: false });
    socket.once('secureConnect', () => {
      resolve({
        serial: socket.getPeerX509Certificate()?.serialNumber ?? '',
        authorized: socket.authorized,
        error: socket.authorizationError === null ? null : String(socket.authorizationError),
      });
      socket.destroy();
    });
    socket.once('error', reject);
  });
}
