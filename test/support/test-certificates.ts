import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * A throwaway certificate authority for TLS tests, made with the real
 * openssl binary (no shell: every value is an argument of its own). Keys are
 * P-256: quick to make, and what most sites serve.
 */
export interface IssuedCertificate {
  certFile: string;
  keyFile: string;
  certPem: string;
  keyPem: string;
  /** Hex serial, upper case, as X509Certificate reports it. */
  serial: string;
}

export class TestCertificateAuthority {
  readonly caPem: string;
  private count = 0;

  private constructor(
    private readonly dir: string,
    private readonly caCert: string,
    private readonly caKey: string,
  ) {
    this.caPem = fs.readFileSync(caCert, 'utf8');
  }

  static create(dir: string, name = 'cutover test CA'): TestCertificateAuthority {
    fs.mkdirSync(dir, { recursive: true });
    const caCert = path.join(dir, 'ca.pem');
    const caKey = path.join(dir, 'ca.key');
    openssl(
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
      ['-keyout', caKey, '-out', caCert, '-days', '2', '-subj', `/CN=${name}`],
    );
    return new TestCertificateAuthority(dir, caCert, caKey);
  }

  /** A leaf for these DNS names, signed by this CA; `key` reuses an earlier leaf's key file. */
  issue(hosts: string[], options: { key?: string } = {}): IssuedCertificate {
    const n = ++this.count;
    const keyFile = options.key ?? path.join(this.dir, `leaf-${n}.key`);
    const csr = path.join(this.dir, `leaf-${n}.csr`);
    const certFile = path.join(this.dir, `leaf-${n}.pem`);
    const ext = path.join(this.dir, `leaf-${n}.ext`);
    fs.writeFileSync(ext, `subjectAltName=${hosts.map((h) => `DNS:${h}`).join(',')}\n`);
    if (options.key === undefined)
      openssl(
        ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
        ['-keyout', keyFile, '-out', csr, '-subj', `/CN=${hosts[0] ?? 'leaf'}`],
      );
    else openssl(['req', '-new', '-key', keyFile], ['-out', csr, '-subj', `/CN=${hosts[0] ?? 'leaf'}`]);
    const serial = (BigInt(Date.now()) * 1000n + BigInt(n)).toString(16).toUpperCase();
    openssl(
      ['x509', '-req', '-in', csr, '-CA', this.caCert, '-CAkey', this.caKey, '-set_serial', `0x${serial}`],
      ['-out', certFile, '-days', '1', '-extfile', ext],
    );
    return {
      certFile,
      keyFile,
      certPem: fs.readFileSync(certFile, 'utf8'),
      keyPem: fs.readFileSync(keyFile, 'utf8'),
      serial: serial.length % 2 === 1 ? `0${serial}` : serial,
    };
  }
}

function openssl(head: string[], tail: string[]): void {
  execFileSync('openssl', [...head, ...tail], {
    stdio: 'pipe',
    timeout: 20_000,
    env: { PATH: process.env.PATH ?? '' },
  });
}
