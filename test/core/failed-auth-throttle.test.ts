import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientKeyOf, FailedAuthThrottle } from '../../src/core/failed-auth-throttle.js';

describe('FailedAuthThrottle', () => {
  it('lets an address fail `limit` times in the window, then refuses it until its oldest failure leaves the window', () => {
    let now = 1_000_000;
    const throttle = new FailedAuthThrottle({ limit: 3, windowMs: 60_000, now: () => now });
    for (let i = 0; i < 3; i++) {
      assert.equal(throttle.retryAfterSeconds('10.0.0.1'), 0);
      throttle.recordFailure('10.0.0.1');
      now += 1000;
    }
    assert.equal(
      throttle.retryAfterSeconds('10.0.0.1'),
      57,
      'the first failure (at 0 s) leaves the window at 60 s; it is 3 s now',
    );
    assert.equal(throttle.retryAfterSeconds('10.0.0.2'), 0, 'another address has its own budget');
    now += 56_500;
    assert.equal(throttle.retryAfterSeconds('10.0.0.1'), 1);
    now += 500;
    assert.equal(throttle.retryAfterSeconds('10.0.0.1'), 0, 'one failure left the window: one more try');
    throttle.recordFailure('10.0.0.1');
    assert.equal(throttle.retryAfterSeconds('10.0.0.1'), 1, 'and the next oldest leaves a second later');
    now += 120_000;
    assert.equal(throttle.retryAfterSeconds('10.0.0.1'), 0);
    assert.equal(throttle.size, 0, 'an address whose failures all left the window is forgotten');
  });

  it('keeps at most maxAddresses addresses, dropping the least recently failing', () => {
    const throttle = new FailedAuthThrottle({ limit: 1, maxAddresses: 100, now: () => 5 });
    for (let i = 0; i < 1000; i++) throttle.recordFailure(`10.0.${Math.floor(i / 256)}.${i % 256}`);
    assert.equal(throttle.size, 100);
    assert.ok(throttle.retryAfterSeconds('10.0.3.231') > 0, 'the latest address is kept');
    assert.equal(throttle.retryAfterSeconds('10.0.0.0'), 0, 'the first one was dropped');
  });

  it('counts an IPv6 client by its /64: rotating addresses inside it buys no more guesses', () => {
    const throttle = new FailedAuthThrottle({ limit: 3, now: () => 5 });
    for (let i = 1; i <= 3; i++) throttle.recordFailure(`2001:db8:0:7::${i.toString(16)}`);
    assert.ok(throttle.retryAfterSeconds('2001:db8:0:7:dead:beef:1:2') > 0, 'another address of the same /64');
    assert.ok(throttle.retryAfterSeconds('2001:0db8:0000:0007::ffff') > 0, 'written another way');
    assert.equal(throttle.retryAfterSeconds('2001:db8:0:8::1'), 0, 'the next /64 has its own budget');
    assert.equal(throttle.size, 1);
  });

  it('keys addresses as written by the socket: IPv4, IPv4-mapped, and IPv6 forms', () => {
    assert.equal(clientKeyOf('10.0.0.1'), '10.0.0.1');
    assert.equal(clientKeyOf('::ffff:10.0.0.1'), '10.0.0.1');
    assert.equal(clientKeyOf('::1'), '0:0:0:0::/64');
    assert.equal(clientKeyOf('2001:DB8::1'), '2001:db8:0:0::/64');
    assert.equal(clientKeyOf('2001:db8:1:2:3:4:5:6'), '2001:db8:1:2::/64');
    assert.equal(clientKeyOf('fe80::1%eth0'), 'fe80:0:0:0::/64');
    assert.equal(clientKeyOf('::1.2.3.4'), '0:0:0:0::/64');
  });
});
