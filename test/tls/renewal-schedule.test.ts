import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/clock/manual-clock.js';
import {
  planRenewals,
  recordOrderOutcome,
  RENEW_BEFORE_MS,
  renewalDueAt,
  RenewalSchedule,
  retryDelayMs,
  RETRY_MAX_MS,
  type ScheduledCertificate,
} from '../../src/tls/renewal-schedule.js';

const DAY = 24 * 3600_000;
const MINUTE = 60_000;
const NOW = Date.UTC(2026, 5, 1);

function certificate(host: string, notBefore: number, days: number, dnsNames = [host]): ScheduledCertificate {
  return { host, notBefore, notAfter: notBefore + days * DAY, dnsNames };
}

describe('renewal schedule', () => {
  it('falls due 30 days before the end of a 90-day certificate', () => {
    const cert = certificate('a.example.com', NOW, 90);
    assert.equal(renewalDueAt(cert), NOW + 60 * DAY);
    assert.equal(cert.notAfter - renewalDueAt(cert), RENEW_BEFORE_MS);
  });

  it('falls due with a third of a short lifetime left (a 6-day certificate: 2 days before its end)', () => {
    const cert = certificate('a.example.com', NOW, 6);
    assert.equal(renewalDueAt(cert), NOW + 4 * DAY);
  });

  it('backs off 1 minute doubling to a 6-hour cap after failures', () => {
    assert.equal(retryDelayMs(0), 0);
    assert.deepEqual(
      [1, 2, 3, 4, 5].map((failures) => retryDelayMs(failures)),
      [1, 2, 4, 8, 16].map((minutes) => minutes * MINUTE),
    );
    assert.equal(retryDelayMs(9), 256 * MINUTE);
    assert.equal(retryDelayMs(10), RETRY_MAX_MS, '512 minutes is past the cap');
    assert.equal(retryDelayMs(10_000), RETRY_MAX_MS, 'no overflow however many failures');
  });

  it('at start orders the missing, the mismatched and the expiring hosts, and waits for the rest', () => {
    const plan = planRenewals({
      now: NOW,
      configuredHosts: ['missing.example.com', 'fresh.example.com', 'expiring.example.com', 'renamed.example.com'],
      certificates: [
        certificate('fresh.example.com', NOW - 10 * DAY, 90),
        certificate('expiring.example.com', NOW - 70 * DAY, 90),
        // A certificate stored under the host's name whose names do not include it (a renamed route, a hand copy).
        certificate('renamed.example.com', NOW - DAY, 90, ['old.example.com']),
        certificate('gone.example.com', NOW - DAY, 90),
      ],
    });
    assert.deepEqual(
      plan.due.map((entry) => [entry.host, entry.reason]),
      [
        ['missing.example.com', 'missing'],
        ['expiring.example.com', 'expiring'],
        ['renamed.example.com', 'mismatch'],
      ],
    );
    const fresh = plan.entries.find((entry) => entry.host === 'fresh.example.com');
    assert.equal(fresh?.reason, 'valid');
    assert.equal(fresh?.at, NOW + 50 * DAY);
    assert.equal(plan.nextWakeAt, NOW + 50 * DAY);
    assert.deepEqual(plan.unused, ['gone.example.com'], 'a host no longer configured is reported, not renewed');
  });

  it('orders an expired certificate at once', () => {
    const plan = planRenewals({
      now: NOW,
      configuredHosts: ['old.example.com'],
      certificates: [certificate('old.example.com', NOW - 100 * DAY, 90)],
    });
    assert.deepEqual(
      plan.due.map((entry) => entry.reason),
      ['expired'],
    );
    assert.equal(plan.nextWakeAt, null);
  });

  it('holds a failing host back by its back-off, and a success clears it', () => {
    let failures = recordOrderOutcome(new Map(), 'a.example.com', 'failed', NOW);
    failures = recordOrderOutcome(failures, 'a.example.com', 'failed', NOW + MINUTE);
    const input = { configuredHosts: ['a.example.com'], certificates: [], failures };
    const during = planRenewals({ ...input, now: NOW + 2 * MINUTE });
    assert.deepEqual(during.due, [], 'second failure at +1 min waits 2 min: not due at +2 min');
    assert.equal(during.nextWakeAt, NOW + 3 * MINUTE);
    assert.equal(during.entries[0]?.failures, 2);
    const after = planRenewals({ ...input, now: NOW + 3 * MINUTE });
    assert.deepEqual(
      after.due.map((entry) => entry.host),
      ['a.example.com'],
    );
    assert.equal(recordOrderOutcome(failures, 'a.example.com', 'succeeded', NOW).size, 0);
  });

  it('does not back off a certificate before it is due, whatever failed earlier', () => {
    const failures = new Map([['a.example.com', { count: 5, lastAt: NOW }]]);
    const plan = planRenewals({
      now: NOW,
      configuredHosts: ['a.example.com'],
      certificates: [certificate('a.example.com', NOW, 90)],
      failures,
    });
    assert.equal(plan.entries[0]?.at, NOW + 60 * DAY);
  });

  it('runs on an injected clock: the RenewalSchedule keeps failures and plans at clock.now()', async () => {
    const clock = new ManualClock(NOW);
    const schedule = new RenewalSchedule(clock);
    const certs = [certificate('a.example.com', NOW - 61 * DAY, 90)];
    assert.deepEqual(
      schedule.plan(['a.example.com'], certs).due.map((e) => e.reason),
      ['expiring'],
    );

    const first = schedule.failed('a.example.com');
    assert.deepEqual(first, { count: 1, lastAt: NOW, retryAt: NOW + MINUTE });
    assert.deepEqual(schedule.plan(['a.example.com'], certs).due, []);
    await clock.advance(MINUTE);
    assert.equal(schedule.plan(['a.example.com'], certs).due.length, 1);

    assert.equal(schedule.failed('a.example.com').retryAt, NOW + MINUTE + 2 * MINUTE);
    schedule.succeeded('a.example.com');
    assert.equal(schedule.failuresOf('a.example.com'), undefined);
  });

  it('lists a host configured twice once', () => {
    const plan = planRenewals({ now: NOW, configuredHosts: ['a.example.com', 'a.example.com'], certificates: [] });
    assert.equal(plan.entries.length, 1);
  });
});
