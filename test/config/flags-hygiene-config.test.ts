import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { issueAt, issuesOf, parse } from './issues-of.js';

/** `flags.stale_after` and `flags.require_approval`, validated once at load. */
const SERVICES = `services:
  web: { command: node server.js }
`;
const DAY = 86_400_000;

describe('flags.stale_after', () => {
  it('defaults to 30 days and takes days, hours or minutes', () => {
    assert.equal(parse(SERVICES).flags.staleAfterMs, 30 * DAY);
    assert.equal(parse(`${SERVICES}flags: { stale_after: 14d }\n`).flags.staleAfterMs, 14 * DAY);
    assert.equal(parse(`${SERVICES}flags: { stale_after: 36h }\n`).flags.staleAfterMs, 36 * 3_600_000);
    // Past the 24-day timer limit of the other durations: it is compared with times, never given to a timer.
    assert.equal(parse(`${SERVICES}flags: { stale_after: 90d }\n`).flags.staleAfterMs, 90 * DAY);
  });

  for (const value of ['0d', '-3d', 'soon', '4000d']) {
    it(`refuses ${value}`, () => {
      const { byPath } = issuesOf(`${SERVICES}flags: { stale_after: ${value} }\n`);
      assert.match(issueAt(byPath, 'flags.stale_after').message, /expected a duration like 30d/);
    });
  }
});

describe('flags.require_approval', () => {
  it('defaults to none and takes environments of flags.environments', () => {
    assert.deepEqual(parse(SERVICES).flags.requireApproval, []);
    const config = parse(`${SERVICES}flags:\n  environments: [prod, qa]\n  require_approval: [prod]\n`);
    assert.deepEqual(config.flags.requireApproval, ['prod']);
    // The default environments count too.
    assert.deepEqual(parse(`${SERVICES}flags: { require_approval: production }\n`).flags.requireApproval, [
      'production',
    ]);
  });

  it('refuses an environment that does not exist (it would protect nothing)', () => {
    const { byPath } = issuesOf(
      `${SERVICES}flags:\n  environments: [prod, qa]\n  require_approval: [qa, production]\n`,
    );
    assert.match(
      issueAt(byPath, 'flags.require_approval[1]').message,
      /expected one of the flag environments \(prod, qa\)/,
    );
  });
});
