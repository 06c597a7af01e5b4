import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatListenAddress, localUrlOf, parseListenAddress } from '../../src/config/listen-address.js';

describe('parseListenAddress', () => {
  it('reads host:port, :port, [ipv6]:port and a bare port', () => {
    const cases: [unknown, string, number][] = [
      ['127.0.0.1:8080', '127.0.0.1', 8080],
      ['0.0.0.0:80', '0.0.0.0', 80],
      ['localhost:9900', 'localhost', 9900],
      [':3000', '127.0.0.1', 3000],
      ['[::1]:8443', '::1', 8443],
      ['[::]:1', '::', 1],
      [8080, '127.0.0.1', 8080],
      ['65535', '127.0.0.1', 65535],
    ];
    for (const [input, host, port] of cases) {
      assert.deepEqual(
        parseListenAddress(input),
        { ok: true, address: { host, port } },
        `for ${JSON.stringify(input)}`,
      );
    }
  });

  it('refuses ports out of range, unbracketed IPv6 and garbage', () => {
    for (const input of [
      '127.0.0.1:0',
      ':65536',
      'localhost',
      '::1:8080',
      '[nothost]:80',
      'a b:80',
      '300.1.1.1:80',
      'host:port',
      ':-1',
      80.5,
      null,
      true,
    ]) {
      assert.equal(parseListenAddress(input).ok, false, `accepted ${JSON.stringify(input)}`);
    }
    const result = parseListenAddress('::1:8080');
    assert.ok(!result.ok && /brackets/.test(result.expected));
  });

  it('formats IPv6 in brackets', () => {
    assert.equal(formatListenAddress({ host: '::1', port: 80 }), '[::1]:80');
    assert.equal(formatListenAddress({ host: '127.0.0.1', port: 80 }), '127.0.0.1:80');
  });
});

describe('localUrlOf', () => {
  it('reaches a wildcard address on loopback and brackets IPv6', () => {
    assert.equal(localUrlOf({ host: '0.0.0.0', port: 9900 }), 'http://127.0.0.1:9900');
    assert.equal(localUrlOf({ host: '::', port: 9900 }), 'http://[::1]:9900');
    assert.equal(localUrlOf({ host: '::1', port: 80 }), 'http://[::1]:80');
    assert.equal(localUrlOf({ host: '127.0.0.1', port: 8080 }), 'http://127.0.0.1:8080');
  });
});
