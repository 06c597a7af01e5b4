import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildUpstreamRequestHeaders, type RequestHeadFacts } from '../../src/router/proxy/forwarded-headers.js';
import { http1RawHeaders } from '../../src/router/proxy/h2-request-headers.js';
import { isValidHostHeader } from '../../src/router/proxy/host-header.js';

/**
 * The Host a request is routed by (RFC 9112 §3.2): one line, a host name
 * with an optional port. What every router answers is in the Router
 * contract (`hostRefused`, and `authority` in the edge contract); here, the
 * proxy's own rule, case by case.
 */
describe('the Host header the proxy routes by', () => {
  it('takes a host name, an address or an IP literal, with an optional port', () => {
    for (const host of [
      'shop.test',
      'Shop.Test:8080',
      'shop.test.',
      'shop.test.:80',
      'a_b-c~d.test',
      'caf%C3%A9.test',
      '127.0.0.1:80',
      '[::1]',
      '[2001:db8::1]:8443',
      'shop.test:',
    ])
      assert.equal(isValidHostHeader(host), true, host);
  });

  it('refuses what is no host name', () => {
    for (const host of [
      '',
      ':80',
      '.',
      '.shop.test',
      'shop..test',
      'shop.test/admin',
      'shop.test other',
      'shop.test, other.test',
      'user@shop.test',
      'shop.test\\x',
      'a<b.test',
      'a"b.test',
      'shop.test:8x',
      'shop.test:80:80',
      'caf%C3.test%',
      'café.test',
      '[',
      '[]',
      '[::1',
      '[::1]x',
      '[::1]/x',
    ])
      assert.equal(isValidHostHeader(host), false, JSON.stringify(host));
  });

  it('refuses a second Host line, even one with the same value, and keeps it from the app', () => {
    const facts: RequestHeadFacts = {
      host: undefined,
      hostValid: true,
      hasBody: false,
      trustedForwardedFor: undefined,
    };
    const headers = buildUpstreamRequestHeaders(
      ['Host', 'shop.test', 'Accept', '*/*', 'host', 'shop.test'],
      '127.0.0.1',
      'http',
      false,
      facts,
    );
    assert.deepEqual([facts.host, facts.hostValid], ['shop.test', false]);
    assert.equal(headers.filter((name, i) => i % 2 === 0 && name.toLowerCase() === 'host').length, 1);
    buildUpstreamRequestHeaders(['Host', 'shop.test'], '127.0.0.1', 'http', false, facts);
    assert.equal(facts.hostValid, true, 'the scratch object is reset by the next request');
    buildUpstreamRequestHeaders(['Host', 'shop.test/x'], '127.0.0.1', 'http', false, facts);
    assert.equal(facts.hostValid, false);
  });

  it('over HTTP/2, keeps a host naming another host than :authority as a second line, so it is refused', () => {
    const hostLines = (raw: string[]): string[] =>
      http1RawHeaders(raw).filter((_, i, all) => i % 2 === 1 && all[i - 1] === 'host');
    assert.deepEqual(hostLines([':authority', 'shop.test', ':path', '/']), ['shop.test']);
    assert.deepEqual(hostLines([':authority', 'shop.test', 'host', 'Shop.Test:443']), ['shop.test']);
    assert.deepEqual(hostLines([':authority', 'shop.test', 'host', 'other.test']), ['shop.test', 'other.test']);
    assert.deepEqual(hostLines(['host', 'shop.test']), ['shop.test'], 'host alone stands for :authority');
    assert.deepEqual(hostLines(['host', 'shop.test', 'host', 'other.test']), ['shop.test', 'other.test']);
  });
});
