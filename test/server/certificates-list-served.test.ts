import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { systemClock } from '../../src/clock/system-clock.js';
import { parseConfig } from '../../src/config/load-config.js';
import type { Router, TlsRoute } from '../../src/router/index.js';
import { ServerCertificates } from '../../src/server/server-certificates.js';
import { CertificateStore } from '../../src/tls/certificate-store.js';
import { eventually } from '../support/eventually.js';
import { silentLogger } from '../support/cutover-harness.js';
import { TestCertificateAuthority } from '../support/test-certificates.js';

/** A promise the test settles by hand: the router's apply that has not finished yet. */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((settle) => (resolve = settle));
  return { promise, resolve };
}

describe('certs list names what the router serves', () => {
  let dir: string;
  let ca: TestCertificateAuthority;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-certs-served-'));
    ca = TestCertificateAuthority.create(path.join(dir, 'ca'));
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('lists a stored certificate only once the router has applied it', async () => {
    const stateDir = path.join(dir, 'state');
    const config = parseConfig(
      `server:
  proxy: 127.0.0.1:18080
  https: 127.0.0.1:18443
  state_dir: ${stateDir}
  acme: { directory: "https://127.0.0.1:14000/dir", email: ops@example.com }
services:
  shop: { command: node server.js, hosts: [shop.test], tls: acme }
`,
      null,
    );
    const leaf = ca.issue(['shop.test']);
    const now = Date.now();
    await new CertificateStore(config.server.stateDir).write({
      host: 'shop.test',
      certPem: leaf.certPem,
      keyPem: leaf.keyPem,
      issuer: 'CN=cutover test CA',
      serial: leaf.serial,
      notBefore: now - 60_000,
      // Far from due: the renewal loop this start wakes orders nothing.
      notAfter: now + 90 * 86_400_000,
      dnsNames: ['shop.test'],
      challenge: 'http-01',
      directoryUrl: 'https://127.0.0.1:14000/dir',
      obtainedAt: now - 60_000,
    });

    const certificates = new ServerCertificates({ config, logger: silentLogger, clock: systemClock });
    const applied = deferred<string[]>();
    const sent: Map<string, TlsRoute>[] = [];
    certificates.attach({
      // Only an ACME order talks to the router (its challenge answers); this test orders nothing.
      router: {} as Router,
      apply: (routes) => {
        sent.push(routes);
        return applied.promise;
      },
      record: () => undefined,
    });
    const starting = certificates.start();
    try {
      await eventually(() => sent.length > 0, 'the stored certificate goes to the router');
      assert.equal(sent.length, 1);
      assert.equal(sent[0]?.get('shop')?.certificates[0]?.certPem, leaf.certPem);
      const pending = certificates.list().find((line) => line.host === 'shop.test');
      assert.equal(pending?.serial, null, 'not listed while the router has not applied it');

      applied.resolve(['shop']);
      await starting;
      const served = certificates.list().find((line) => line.host === 'shop.test');
      assert.equal(served?.serial, leaf.serial);
      assert.equal(served?.source, 'acme');
    } finally {
      applied.resolve([]);
      await starting.catch(() => undefined);
      certificates.close();
    }
  });
});
