import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { systemClock } from '../../src/clock/system-clock.js';
import { CutoverError } from '../../src/core/errors.js';
import { AcmeIssuer, type AcmeIssuerOptions } from '../../src/tls/acme-issuer.js';
import { splitPemChain } from '../../src/tls/certificate-details.js';
import { CertificateStore, type StoredCertificate } from '../../src/tls/certificate-store.js';
import type { ChallengeResponder } from '../../src/tls/challenge-responder.js';
import { startChallengeTestResponder, type ChallengeTestResponder } from '../support/challenge-test-responder.js';
import { startPebble, type Pebble } from '../support/pebble.js';

/**
 * Certificates from a real ACME CA: pebble, with pebble-challtestsrv as its
 * DNS (every test host resolves to 127.0.0.1, where the test responder
 * answers the challenges pebble sends to it). One host is proved by HTTP-01,
 * another by TLS-ALPN-01; each chain is then checked the way a browser would,
 * by a TLS handshake trusting only pebble's root. Refusals (wrong DNS, a
 * responder that answers nothing, an untrusted or silent CA) fail with
 * ACME_ORDER_FAILED naming the host and the problem.
 */
describe('ACME issuer against pebble', () => {
  let responder: ChallengeTestResponder;
  let pebble: Pebble;
  let work: string;
  let store: CertificateStore;
  let caBundlePath: string;
  const issuers: AcmeIssuer[] = [];

  const issuerWith = (overrides: Partial<AcmeIssuerOptions> = {}): AcmeIssuer => {
    const issuer = new AcmeIssuer({
      acme: { directoryUrl: pebble.directoryUrl, email: 'ops@cutover.test', caBundlePath },
      store,
      responder,
      clock: systemClock,
      orderTimeoutMs: 60_000,
      pollIntervalMs: 100,
      ...overrides,
    });
    issuers.push(issuer);
    return issuer;
  };

  before(async () => {
    responder = await startChallengeTestResponder();
    pebble = await startPebble({ httpPort: responder.httpPort, tlsPort: responder.tlsPort });
    work = await mkdtemp(path.join(tmpdir(), 'cutover-acme-'));
    store = new CertificateStore(path.join(work, 'state'));
    caBundlePath = path.join(work, 'pebble-ca.pem');
    await writeFile(caBundlePath, pebble.caBundlePem);
  });

  after(async () => {
    for (const issuer of issuers) await issuer.close();
    await pebble?.stop();
    await responder?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('obtains a certificate through HTTP-01, answered by the plain listener', async () => {
    const issuer = issuerWith();
    const certificate = await issuer.obtain('web.cutover.test', { challenge: 'http-01' });

    assert.equal(certificate.host, 'web.cutover.test');
    assert.equal(certificate.challenge, 'http-01');
    assert.ok(
      responder.httpRequests.some((url) => url.startsWith('/.well-known/acme-challenge/')),
      'pebble fetched the HTTP-01 answer from the responder',
    );
    assert.deepEqual(responder.pending(), { http01: [], tlsAlpn01: [] }, 'the answer is taken down after the order');
    await assertServesValidChain(certificate, await pebble.rootPem());
    assert.deepEqual(await store.read('web.cutover.test'), certificate, 'the store holds what was returned');
  });

  it('obtains a certificate through TLS-ALPN-01, answered by the TLS listener by SNI', async () => {
    const issuer = issuerWith();
    const httpBefore = responder.httpRequests.length;
    const certificate = await issuer.obtain('api.cutover.test', { challenge: 'tls-alpn-01' });

    assert.equal(certificate.challenge, 'tls-alpn-01');
    assert.ok(responder.tlsHandshakes.includes('api.cutover.test'), 'pebble connected with SNI api.cutover.test');
    assert.equal(responder.httpRequests.length, httpBefore, 'no HTTP-01 request was needed');
    assert.deepEqual(responder.pending(), { http01: [], tlsAlpn01: [] });
    await assertServesValidChain(certificate, await pebble.rootPem());
  });

  it('keeps one account key in the state dir and renews with a new serial', async () => {
    const issuer = issuerWith();
    const accountKey = await store.readAccountKey();
    assert.ok(accountKey?.includes('PRIVATE KEY'));
    const before = await store.read('web.cutover.test');
    // Two callers renewing the same host at once share one order (one new certificate, not two).
    const [renewed, sameOrder] = await Promise.all([
      issuer.obtain('web.cutover.test'),
      issuer.obtain('web.cutover.test'),
    ]);
    assert.notEqual(renewed.serial, before?.serial);
    assert.equal(sameOrder.serial, renewed.serial);
    assert.deepEqual(await store.read('web.cutover.test'), renewed, 'the new certificate replaced the old');
    assert.equal(await store.readAccountKey(), accountKey, 'the same account key is reused');
    assert.deepEqual(
      (await store.list()).map((c) => c.host),
      ['api.cutover.test', 'web.cutover.test'],
    );
  });

  it('fails with ACME_ORDER_FAILED naming the host and the problem when DNS points elsewhere', async () => {
    const issuer = issuerWith();
    const host = 'wrong-dns.cutover.test';
    // 127.0.0.2 is loopback too, but nothing listens there: pebble's connection is refused.
    await pebble.setDnsA(host, '127.0.0.2');
    const stored = await store.list();
    await assert.rejects(issuer.obtain(host, { challenge: 'http-01' }), (error: unknown) => {
      assert.ok(error instanceof CutoverError);
      assert.equal(error.code, 'ACME_ORDER_FAILED');
      assert.match(error.message, /wrong-dns\.cutover\.test/);
      assert.match(error.message, /urn:ietf:params:acme:error:connection/);
      const details = error.details as { host: string; problem: { type: string; detail: string } };
      assert.equal(details.host, host);
      assert.equal(details.problem.type, 'urn:ietf:params:acme:error:connection');
      assert.match(details.problem.detail, /127\.0\.0\.2/);
      return true;
    });
    assert.deepEqual(responder.pending(), { http01: [], tlsAlpn01: [] }, 'the answer is taken down after a failure');
    assert.deepEqual(await store.list(), stored, 'nothing was stored');
  });

  it('fails with the CA problem when the responder answers nothing, for either challenge', async () => {
    const silent: ChallengeResponder = {
      setHttp01: () => undefined,
      clearHttp01: () => undefined,
      setTlsAlpn01: () => undefined,
      clearTlsAlpn01: () => undefined,
    };
    const issuer = issuerWith({ responder: silent });
    for (const challenge of ['http-01', 'tls-alpn-01'] as const) {
      const host = `silent-${challenge}.cutover.test`;
      await assert.rejects(issuer.obtain(host, { challenge }), (error: unknown) => {
        assert.ok(error instanceof CutoverError);
        assert.equal(error.code, 'ACME_ORDER_FAILED');
        const details = error.details as { host: string; challenge: string; problem: { type: string } };
        assert.equal(details.host, host);
        assert.equal(details.challenge, challenge);
        assert.match(details.problem.type, /^urn:ietf:params:acme:error:/);
        assert.match(error.message, new RegExp(`${host.replace(/\./g, '\\.')}.*urn:ietf:params:acme:error:`));
        return true;
      });
    }
  });

  it('trusts pebble only through ca_bundle, per issuer: without it the order fails on the CA certificate', async () => {
    const untrusting = issuerWith({
      acme: { directoryUrl: pebble.directoryUrl },
      orderTimeoutMs: 3_000,
    });
    // At the same time, in the same process, an issuer with the bundle succeeds: the bundle is not process-wide.
    const trusting = issuerWith();
    const [untrusted, trusted] = await Promise.allSettled([
      untrusting.obtain('untrusted.cutover.test'),
      trusting.obtain('trusted.cutover.test'),
    ]);
    assert.equal(trusted.status, 'fulfilled', trusted.status === 'rejected' ? String(trusted.reason) : '');
    assert.equal(untrusted.status, 'rejected');
    await assert.rejects(Promise.reject(untrusted.reason as Error), (error: unknown) => {
      assert.ok(error instanceof CutoverError);
      assert.equal(error.code, 'ACME_ORDER_FAILED');
      assert.match(error.message, /untrusted\.cutover\.test/);
      // acme-client retries network errors on its own; the order's timeout ends that and says what kept failing.
      assert.match(error.message, /SELF_SIGNED|self[- ]signed/);
      return true;
    });
  });

  it('gives up at the order timeout when the CA accepts connections but never answers', async () => {
    const sockets = new Set<net.Socket>();
    const silentCa = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => silentCa.listen(0, '127.0.0.1', resolve));
    const port = (silentCa.address() as net.AddressInfo).port;
    try {
      const issuer = issuerWith({
        acme: { directoryUrl: `http://127.0.0.1:${port}/dir` },
        orderTimeoutMs: 800,
      });
      const started = Date.now();
      await assert.rejects(issuer.obtain('slow.cutover.test'), (error: unknown) => {
        assert.ok(error instanceof CutoverError);
        assert.equal(error.code, 'ACME_ORDER_FAILED');
        assert.equal((error.details as { problem: { type: string } }).problem.type, 'timeout');
        assert.match(error.message, /slow\.cutover\.test/);
        return true;
      });
      assert.ok(Date.now() - started < 10_000, 'the order stopped at its timeout, not at a retry');
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silentCa.close(resolve));
    }
  });

  it('refuses a host that is not a DNS name before any request', async () => {
    const issuer = issuerWith();
    await assert.rejects(
      () => issuer.obtain('../etc'),
      (error: unknown) => error instanceof CutoverError && error.code === 'CERTIFICATE_HOST_INVALID',
    );
  });
});

/**
 * A TLS server presenting the certificate, and a client trusting only
 * pebble's root that asks for `host` by SNI: the handshake succeeds only if
 * the chain leads to that root and names the host. The same client without
 * the root must fail, or the check would prove nothing.
 */
async function assertServesValidChain(certificate: StoredCertificate, rootPem: string): Promise<void> {
  const chain = splitPemChain(certificate.certPem);
  assert.ok(chain.length >= 2, 'the CA sent the leaf and its intermediate');
  const leaf = new X509Certificate(chain[0]!);
  const intermediate = new X509Certificate(chain[1]!);
  const root = new X509Certificate(rootPem);
  assert.ok(leaf.verify(intermediate.publicKey), 'the intermediate signed the leaf');
  assert.ok(intermediate.verify(root.publicKey), "pebble's root signed the intermediate");
  assert.equal(leaf.checkHost(certificate.host), certificate.host);
  assert.match(leaf.subjectAltName ?? '', new RegExp(`DNS:${certificate.host.replace(/\./g, '\\.')}`));
  const now = Date.now();
  assert.ok(Date.parse(leaf.validFrom) <= now && now < Date.parse(leaf.validTo), 'valid now');
  assert.equal(certificate.notAfter, Date.parse(leaf.validTo));
  assert.equal(certificate.serial, leaf.serialNumber.toUpperCase());

  const server = tls.createServer({ cert: certificate.certPem, key: certificate.keyPem }, (socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  try {
    const trusted = await handshake(port, certificate.host, rootPem);
    assert.equal(trusted.authorized, true, `trusted handshake: ${trusted.error ?? ''}`);
    assert.equal(trusted.serial, certificate.serial);
    const untrusted = await handshake(port, certificate.host, undefined);
    assert.equal(untrusted.authorized, false, 'a client without pebble’s root does not trust the chain');
    const otherHost = await handshake(port, 'other.cutover.test', rootPem);
    assert.equal(otherHost.authorized, false, 'the certificate does not pass for another host');
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

function handshake(
  port: number,
  servername: string,
  ca: string | undefined,
): Promise<{ authorized: boolean; serial?: string; error?: string }> {
  return new Promise((resolve) => {
    const socket = tls.connect(
      { host: '127.0.0.1', port, servername, ...(ca ? { ca } : {}), rejectUnauthorized: false },
      () => {
        const hostError = tls.checkServerIdentity(servername, socket.getPeerCertificate());
        const authorized = socket.authorized && hostError === undefined;
        const serial = socket.getPeerCertificate().serialNumber.toUpperCase();
        const error = socket.authorizationError?.message ?? hostError?.message;
        socket.end();
        resolve({ authorized, serial, ...(error ? { error } : {}) });
      },
    );
    socket.on('error', (error) => resolve({ authorized: false, error: error.message }));
  });
}
