import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import * as acme from 'acme-client';
import {
  ACME_TLS_ALPN_PROTOCOL,
  HTTP01_PATH_PREFIX,
  type ChallengeResponder,
} from '../../src/tls/challenge-responder.js';

/**
 * What every ChallengeResponder promises, whichever listeners answer: the
 * test responder of the issuer's tests, and the embedded proxy once it
 * implements the port. A CA checks exactly these things (RFC 8555 §8.3,
 * RFC 8737 §3), so an implementation that passes here passes pebble too.
 */
export interface RespondingListeners {
  responder: ChallengeResponder;
  /** 127.0.0.1 ports: where HTTP-01 and TLS-ALPN-01 are answered. */
  httpPort: number;
  tlsPort: number;
  stop(): Promise<void>;
}

export function challengeResponderContract(name: string, start: () => Promise<RespondingListeners>): void {
  describe(`ChallengeResponder contract: ${name}`, () => {
    let listeners: RespondingListeners;
    before(async () => {
      listeners = await start();
    });
    after(async () => {
      await listeners?.stop();
    });

    it('answers HTTP-01 with the key authorization while it is set, and 404 before and after', async () => {
      const token = 'evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA';
      const keyAuthorization = `${token}.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI`;
      const url = `http://127.0.0.1:${listeners.httpPort}${HTTP01_PATH_PREFIX}${token}`;
      assert.equal((await get(url, 'web.example.com')).status, 404);
      listeners.responder.setHttp01(token, keyAuthorization);
      const answer = await get(url, 'web.example.com');
      assert.equal(answer.status, 200);
      assert.equal(answer.body.trim(), keyAuthorization);
      assert.equal(
        (await get(`http://127.0.0.1:${listeners.httpPort}${HTTP01_PATH_PREFIX}other`, 'web.example.com')).status,
        404,
      );
      listeners.responder.clearHttp01(token);
      assert.equal((await get(url, 'web.example.com')).status, 404);
    });

    it('presents the acme-tls/1 certificate to a handshake for the host with ALPN acme-tls/1, until cleared', async () => {
      const host = 'api.example.com';
      const keyAuthorization = 'token-a.thumbprint-b';
      const [keyPem, certPem] = await acme.crypto.createAlpnCertificate(
        { identifier: { type: 'dns', value: host } } as Parameters<typeof acme.crypto.createAlpnCertificate>[0],
        keyAuthorization,
      );
      listeners.responder.setTlsAlpn01(host, { certPem: certPem.toString(), keyPem: keyPem.toString() });
      const seen = await alpnHandshake(listeners.tlsPort, host);
      assert.equal(seen.protocol, ACME_TLS_ALPN_PROTOCOL);
      assert.ok(seen.certPem, `handshake failed: ${seen.error ?? ''}`);
      assert.ok(acme.crypto.isAlpnCertificateAuthorizationValid(seen.certPem, keyAuthorization));

      const otherHost = await alpnHandshake(listeners.tlsPort, 'other.example.com');
      assert.ok(
        !otherHost.certPem || !acme.crypto.isAlpnCertificateAuthorizationValid(otherHost.certPem, keyAuthorization),
        'another host never gets the challenge certificate',
      );

      listeners.responder.clearTlsAlpn01(host);
      const cleared = await alpnHandshake(listeners.tlsPort, host);
      assert.ok(
        !cleared.certPem || !acme.crypto.isAlpnCertificateAuthorizationValid(cleared.certPem, keyAuthorization),
        'the challenge certificate is gone once cleared',
      );
    });
  });
}

function get(url: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers: { host }, agent: false, timeout: 5000 }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${url}: timed out`)));
    request.on('error', reject);
  });
}

/** A handshake as the CA makes it: SNI host, ALPN acme-tls/1 only, the self-signed certificate accepted for reading. */
function alpnHandshake(
  port: number,
  servername: string,
): Promise<{ protocol?: string; certPem?: string; error?: string }> {
  return new Promise((resolve) => {
    const socket = tls.connect(
      {
        host: '127.0.0.1',
        port,
        servername,
        ALPNProtocols: [ACME_TLS_ALPN_PROTOCOL],
        rejectUnauthorized: false,
        timeout: 5000,
      },
      () => {
        const raw = socket.getPeerX509Certificate();
        const protocol = socket.alpnProtocol || undefined;
        socket.destroy();
        resolve({ ...(protocol ? { protocol } : {}), ...(raw ? { certPem: pemOf(raw) } : {}) });
      },
    );
    socket.on('timeout', () => socket.destroy(new Error('handshake timed out')));
    socket.on('error', (error) => resolve({ error: error.message }));
  });
}

function pemOf(certificate: X509Certificate): string {
  return certificate.toString();
}
