import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isCutoverError } from '../../src/core/errors.js';
import { parseConfig } from '../../src/config/load-config.js';
import { loadServiceCertificates } from '../../src/server/service-certificates.js';
import { TestCertificateAuthority } from '../support/test-certificates.js';
import { issueAt, issuesOf, parse } from './issues-of.js';

// The HTTPS keys: server.https and redirect_http, per service tls and hsts, checked across fields at load.
describe('the HTTPS keys in cutover.yaml', () => {
  const tlsService = 'services: { web: { command: node server.js, tls: { cert: tls/c.pem, key: tls/k.pem } } }';

  it('reads the TLS listener, redirects by default, and resolves certificate paths against the file', () => {
    const config = parse(
      `server: { https: 127.0.0.1:8443 }\nservices: { web: { command: node server.js, tls: { cert: tls/c.pem, key: /etc/k.pem }, hsts: { max_age: 31536000, include_subdomains: true } } }`,
    );
    assert.deepEqual(config.server.https, { host: '127.0.0.1', port: 8443 });
    assert.equal(config.server.redirectHttp, true);
    assert.deepEqual(config.services.web?.tls, {
      source: 'files',
      certFile: '/srv/site/tls/c.pem',
      keyFile: '/etc/k.pem',
    });
    assert.deepEqual(config.services.web?.hsts, { maxAgeSec: 31536000, includeSubdomains: true });
    assert.equal(parse(`server: { https: 8443, redirect_http: false }\n${tlsService}`).server.redirectHttp, false);
    assert.equal(parse('services: { web: { command: node server.js } }').server.redirectHttp, false);
  });

  it('refuses a certificate without the TLS listener, and HSTS without a certificate, naming the field', () => {
    const { byPath } = issuesOf(
      'services:\n  web: { command: node server.js, tls: { cert: c.pem, key: k.pem } }\n  api: { command: node api.js, hosts: [api.test], hsts: { max_age: 60 } }\n',
    );
    assert.match(issueAt(byPath, 'services.web.tls').message, /needs the TLS listener: add server.https/);
    assert.match(issueAt(byPath, 'services.api.hsts').message, /only over HTTPS/);
  });

  it('refuses redirect_http without https, https with the HAProxy router, and a port of another listener', () => {
    assert.match(
      issueAt(
        issuesOf(`server: { redirect_http: true }\nservices: { web: { command: x } }`).byPath,
        'server.redirect_http',
      ).message,
      /only used with server.https/,
    );
    assert.match(
      issueAt(issuesOf(`server: { router: haproxy, https: 8443 }\n${tlsService}`).byPath, 'server.https').message,
      /haproxy router does not terminate TLS/,
    );
    // nginx terminates TLS (render-nginx-servers.ts), but has no way to answer TLS-ALPN-01.
    const nginx =
      'router: nginx, nginx: { main_config: /etc/nginx/nginx.conf, include_file: /etc/nginx/conf.d/cutover.conf }';
    assert.deepEqual(parse(`server: { ${nginx}, https: 8443 }\n${tlsService}`).server.https, {
      host: '127.0.0.1',
      port: 8443,
    });
    assert.match(
      issueAt(
        issuesOf(
          `server: { ${nginx}, https: 8443, acme: { email: ops@example.com } }\nservices: { web: { command: x, hosts: [w.test], tls: { acme: tls-alpn-01 } } }`,
        ).byPath,
        'services.web.tls.acme',
      ).message,
      /nginx router answers only HTTP-01/,
    );
    assert.match(
      issueAt(issuesOf(`server: { proxy: 127.0.0.1:8443, https: 0.0.0.0:8443 }\n${tlsService}`).byPath, 'server.https')
        .message,
      /needs its own port.*server.proxy/,
    );
    assert.match(
      issueAt(issuesOf(`server: { https: 127.0.0.1:9900 }\n${tlsService}`).byPath, 'server.https').message,
      /clashes with server.admin/,
    );
  });

  it('refuses an HSTS max_age that is not a whole number of seconds', () => {
    const { byPath } = issuesOf(
      `server: { https: 8443 }\nservices: { web: { command: x, tls: { cert: c, key: k }, hsts: { max_age: 1y } } }`,
    );
    assert.ok(byPath.has('services.web.hsts.max_age'));
  });
});

describe("a service's certificate files, checked before the server changes anything", () => {
  let dir: string;
  let ca: TestCertificateAuthority;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-tls-config-'));
    ca = TestCertificateAuthority.create(dir);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const configWith = (hosts: string[], cert: string, key: string, hsts = '') =>
    parseConfig(
      `server: { https: 8443 }\nservices:\n  shop: { command: x, hosts: [${hosts.join(', ')}], tls: { cert: ${cert}, key: ${key} }${hsts} }\n`,
      path.join(dir, 'cutover.yaml'),
      { env: {} },
    );

  it('loads a chain and key that fit every host, with the HSTS header value', () => {
    const leaf = ca.issue(['shop.test', 'www.shop.test']);
    const routes = loadServiceCertificates(
      configWith(
        ['shop.test', 'www.shop.test'],
        leaf.certFile,
        leaf.keyFile,
        ', hsts: { max_age: 600, include_subdomains: true }',
      ),
    );
    const route = routes.get('shop');
    assert.deepEqual(route?.certificates, [
      { hosts: ['shop.test', 'www.shop.test'], certPem: leaf.certPem, keyPem: leaf.keyPem },
    ]);
    assert.equal(route?.hsts, 'max-age=600; includeSubDomains');
  });

  it('names the field and the host when the certificate is not for a host, or the key is not its key', () => {
    const leaf = ca.issue(['shop.test']);
    const other = ca.issue(['shop.test']);
    const refused = (fn: () => unknown, pattern: RegExp) =>
      assert.throws(fn, (error: unknown) => {
        assert.ok(isCutoverError(error) && error.code === 'CONFIG_INVALID');
        assert.match(error.message, pattern);
        assert.ok(!error.message.includes('PRIVATE KEY'));
        return true;
      });
    refused(
      () => loadServiceCertificates(configWith(['shop.test', 'admin.shop.test'], leaf.certFile, leaf.keyFile)),
      /services\.shop\.tls\.cert: .* not issued for host 'admin\.shop\.test'/,
    );
    refused(
      () => loadServiceCertificates(configWith(['shop.test'], leaf.certFile, other.keyFile)),
      /services\.shop\.tls\.key: .* is not the key of the certificate/,
    );
    refused(
      () => loadServiceCertificates(configWith(['shop.test'], path.join(dir, 'missing.pem'), leaf.keyFile)),
      /services\.shop\.tls\.cert: cannot read .*missing\.pem/,
    );
    refused(
      () => loadServiceCertificates(configWith(['shop.test'], leaf.keyFile, leaf.keyFile)),
      /services\.shop\.tls\.cert: .* is not a PEM certificate/,
    );
  });

  it('refuses a certificate that has expired', () => {
    const leaf = ca.issue(['shop.test']);
    const later = new Date(Date.now() + 3 * 24 * 3600_000);
    assert.throws(
      () => loadServiceCertificates(configWith(['shop.test'], leaf.certFile, leaf.keyFile), later),
      /services\.shop\.tls\.cert: the certificate in .* expired on/,
    );
  });
});
