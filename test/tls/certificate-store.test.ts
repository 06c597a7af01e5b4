import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CutoverError } from '../../src/core/errors.js';
import { certificateDetails } from '../../src/tls/certificate-details.js';
import { certificateHost, MAX_HOST_LENGTH } from '../../src/tls/certificate-host.js';
import { CertificateStore, type StoredCertificate } from '../../src/tls/certificate-store.js';

/**
 * The certificate store on a real file system: what lands under
 * <state_dir>/tls, with which modes, replaced how, and which host names
 * never become a file name.
 */
const mode = (file: string): number => statSync(file).mode & 0o777;

function stored(host: string, serial: string): StoredCertificate {
  return {
    host,
    certPem: `-----BEGIN CERTIFICATE-----\n${serial}\n-----END CERTIFICATE-----\n`,
    keyPem: `-----BEGIN PRIVATE KEY-----\n${serial}\n-----END PRIVATE KEY-----\n`,
    issuer: 'CN=test',
    serial,
    notBefore: 1,
    notAfter: 2,
    dnsNames: [host],
    challenge: 'http-01',
    directoryUrl: 'https://ca.test/dir',
    obtainedAt: 3,
  };
}

describe('certificate store', () => {
  let work: string;
  let stateDir: string;
  let store: CertificateStore;

  before(() => {
    work = mkdtempSync(path.join(tmpdir(), 'cutover-cert-store-'));
    stateDir = path.join(work, 'state');
    store = new CertificateStore(stateDir);
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it('writes certificates and the account key 0600 in 0700 directories, whatever the umask', async () => {
    const previous = process.umask(0o000);
    try {
      await store.write(stored('web.example.com', 'AA01'));
      await store.writeAccountKey('-----BEGIN PRIVATE KEY-----\naccount\n-----END PRIVATE KEY-----\n');
    } finally {
      process.umask(previous);
    }
    assert.equal(mode(path.join(stateDir, 'tls')), 0o700);
    assert.equal(mode(path.join(stateDir, 'tls', 'certs')), 0o700);
    assert.equal(mode(path.join(stateDir, 'tls', 'certs', 'web.example.com.json')), 0o600);
    assert.equal(mode(path.join(stateDir, 'tls', 'account-key.pem')), 0o600);
    assert.equal(store.certificatePath('web.example.com'), path.join(stateDir, 'tls', 'certs', 'web.example.com.json'));
  });

  it('narrows a tls directory that exists wider (made by hand) to 0700', async () => {
    const other = new CertificateStore(path.join(work, 'wide'));
    mkdirSync(path.join(work, 'wide', 'tls', 'certs'), { recursive: true });
    chmodSync(path.join(work, 'wide', 'tls'), 0o755);
    chmodSync(path.join(work, 'wide', 'tls', 'certs'), 0o777);
    await other.write(stored('web.example.com', 'AA01'));
    assert.equal(mode(path.join(work, 'wide', 'tls')), 0o700);
    assert.equal(mode(path.join(work, 'wide', 'tls', 'certs')), 0o700);
  });

  it('replaces a certificate whole: readers see the old pair or the new, and no temp file is left', async () => {
    await store.write(stored('swap.example.com', 'OLD'));
    const file = store.certificatePath('swap.example.com');
    // An open descriptor keeps the old file alive (and its inode number taken): a rename leaves it as it was.
    const oldFile = openSync(file, 'r');
    const inodeBefore = fstatSync(oldFile).ino;
    const seen = new Set<string>();
    let reading = true;
    const reader = (async () => {
      while (reading) {
        const current = await store.read('swap.example.com');
        assert.ok(current, 'the host never has no certificate during a replace');
        assert.equal(current.keyPem.includes(current.serial), true, 'chain and key belong together');
        seen.add(current.serial);
      }
    })();
    for (let i = 0; i < 50; i++) await store.write(stored('swap.example.com', `NEW${i}`));
    reading = false;
    await reader;
    assert.equal((await store.read('swap.example.com'))?.serial, 'NEW49');
    assert.notEqual(statSync(file).ino, inodeBefore, 'replaced by rename (a new inode), not rewritten in place');
    assert.match(readFileSync(oldFile, 'utf8'), /"serial": "OLD"/, 'the old file was never written to');
    closeSync(oldFile);
    assert.deepEqual(
      readdirSync(path.dirname(file)).filter((name) => name.startsWith('.')),
      [],
    );
    assert.ok(seen.size >= 1);
  });

  it('keeps the account key once created', async () => {
    const fresh = new CertificateStore(path.join(work, 'account'));
    let created = 0;
    const create = async (): Promise<string> => `key-${++created}`;
    assert.equal(await fresh.accountKey(create), 'key-1');
    assert.equal(await fresh.accountKey(create), 'key-1');
    assert.equal(created, 1);
  });

  it('lists stored certificates by host and skips files that are not one (temp files, other names, corrupt)', async () => {
    const listed = new CertificateStore(path.join(work, 'listed'));
    await listed.write(stored('b.example.com', 'B'));
    await listed.write(stored('a.example.com', 'A'));
    const certs = path.join(work, 'listed', 'tls', 'certs');
    writeFileSync(path.join(certs, '.a.example.com.json.123.tmp'), '{}');
    writeFileSync(path.join(certs, 'corrupt.example.com.json'), '{not json');
    writeFileSync(path.join(certs, 'Upper.example.com.json'), JSON.stringify(stored('Upper.example.com', 'U')));
    // A file copied under another host's name is not that host's certificate.
    writeFileSync(path.join(certs, 'c.example.com.json'), JSON.stringify(stored('a.example.com', 'X')));
    assert.deepEqual(
      (await listed.list()).map((c) => c.host),
      ['a.example.com', 'b.example.com'],
    );
    assert.equal(await listed.read('corrupt.example.com'), null);
    assert.equal(await listed.read('c.example.com'), null);
    await listed.remove('a.example.com');
    assert.equal(await listed.read('a.example.com'), null);
  });

  it('refuses hostile host names before they touch the file system', async () => {
    const refused = [
      '../x',
      'a/b',
      'a\\b',
      '',
      '.',
      '..',
      'x..y',
      '.example.com',
      'example.com.',
      '*.example.com',
      'a b.example.com',
      'a\u0000.example.com',
      '-a.example.com',
      'a-.example.com',
      'ex%2fample.com',
      '127.0.0.1',
      '::1',
      'example.123',
      `${'a'.repeat(64)}.example.com`,
      `${'a.'.repeat(127)}ab`,
    ];
    for (const host of refused) {
      assert.throws(
        () => certificateHost(host),
        (error: unknown) => error instanceof CutoverError && error.code === 'CERTIFICATE_HOST_INVALID',
        JSON.stringify(host),
      );
      await assert.rejects(store.write(stored(host, 'X')), { code: 'CERTIFICATE_HOST_INVALID' });
      await assert.rejects(store.read(host), { code: 'CERTIFICATE_HOST_INVALID' });
    }
    assert.ok(`${'a.'.repeat(127)}ab`.length > MAX_HOST_LENGTH);
    assert.throws(() => certificateHost(42), { code: 'CERTIFICATE_HOST_INVALID' });
    assert.deepEqual(readdirSync(work).sort(), ['account', 'listed', 'state', 'wide'], 'nothing written outside');
  });

  it('accepts DNS names, lower-cased, up to 253 characters', () => {
    assert.equal(certificateHost('Shop.Example.COM'), 'shop.example.com');
    assert.equal(certificateHost('localhost'), 'localhost');
    assert.equal(certificateHost('xn--bcher-kva.example'), 'xn--bcher-kva.example');
    const longest = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`;
    assert.equal(longest.length, MAX_HOST_LENGTH);
    assert.equal(certificateHost(longest), longest);
  });

  it('reads issuer, serial, validity and names from a real certificate', () => {
    const dir = mkdtempSync(path.join(work, 'openssl-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-days',
        '3',
        '-subj',
        '/CN=details test',
        '-addext',
        'subjectAltName=DNS:One.example.com,DNS:two.example.com,IP:127.0.0.1',
        '-keyout',
        path.join(dir, 'key.pem'),
        '-out',
        path.join(dir, 'cert.pem'),
      ],
      { stdio: 'pipe' },
    );
    const details = certificateDetails(readFileSync(path.join(dir, 'cert.pem'), 'utf8'));
    assert.deepEqual(details.dnsNames, ['one.example.com', 'two.example.com']);
    assert.match(details.issuer, /CN=details test/);
    assert.match(details.serial, /^[0-9A-F]+$/);
    assert.ok(Math.abs(details.notAfter - details.notBefore - 3 * 24 * 3600_000) < 5_000);
  });
});
