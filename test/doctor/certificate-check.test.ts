import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load-config.js';
import { checkCertificates } from '../../src/doctor/certificate-check.js';
import { CertificateStore } from '../../src/tls/certificate-store.js';
import { TestCertificateAuthority } from '../support/test-certificates.js';

// `cutover doctor` on HTTPS hosts: a certificate valid now, issued for the host, not expiring within 14 days.
describe('doctor: the certificate of each HTTPS host', () => {
  let dir: string;
  let ca: TestCertificateAuthority;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-doctor-tls-'));
    ca = TestCertificateAuthority.create(path.join(dir, 'ca'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const configWith = (services: string) =>
    parseConfig(`server: { https: 8443, state_dir: state }\nservices:\n${services}`, path.join(dir, 'cutover.yaml'), {
      env: {},
    });

  it('warns about a certificate ending within 14 days and an ACME host without one; fails one not for its host', async () => {
    const shortLived = ca.issue(['shop.test']); // a day: the test CA's leaves
    const wrongHost = ca.issue(['other.test']);
    const config = configWith(
      `  shop: { command: x, hosts: [shop.test], tls: { cert: ${shortLived.certFile}, key: ${shortLived.keyFile} } }\n` +
        `  admin: { command: x, hosts: [admin.test], tls: { cert: ${wrongHost.certFile}, key: ${wrongHost.keyFile} } }\n` +
        `  blog: { command: x, hosts: [blog.test], tls: acme }\n`,
    );
    const results = await checkCertificates(config);
    const byId = new Map(results.map((r) => [r.id, r]));
    assert.equal(byId.get('tls.shop.test')?.status, 'warn');
    assert.match(byId.get('tls.shop.test')?.message ?? '', /expires within 14 days/);
    assert.equal(byId.get('tls.admin.test')?.status, 'fail');
    assert.match(byId.get('tls.admin.test')?.message ?? '', /not issued for this host/);
    assert.equal(byId.get('tls.blog.test')?.status, 'warn');
    assert.match(byId.get('tls.blog.test')?.fix ?? '', /DNS of blog\.test/);
  });

  it('reads an ACME certificate where the server stored it: ok while valid, failed once expired', async () => {
    const leaf = ca.issue(['blog.test']);
    const store = new CertificateStore(path.join(dir, 'state'));
    await store.write({
      host: 'blog.test',
      certPem: leaf.certPem,
      keyPem: leaf.keyPem,
      issuer: 'cutover test CA',
      serial: leaf.serial,
      notBefore: Date.now() - 60_000,
      notAfter: Date.now() + 86_400_000,
      dnsNames: ['blog.test'],
      challenge: 'http-01',
      directoryUrl: 'https://ca.test/dir',
      obtainedAt: Date.now(),
    });
    const config = configWith('  blog: { command: x, hosts: [blog.test], tls: acme }\n');
    const soon = await checkCertificates(config, Date.now() - 20 * 86_400_000);
    assert.equal(soon[0]?.status, 'ok', soon[0]?.message);
    const later = await checkCertificates(config, Date.now() + 3 * 86_400_000);
    assert.equal(later[0]?.status, 'fail');
    assert.match(later[0]?.message ?? '', /expired/);
  });
});
