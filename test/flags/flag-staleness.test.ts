import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Flag } from '../../src/flags/flag-model.js';
import { servedVariants, staleness } from '../../src/flags/flag-staleness.js';

/** When a flag serves one value to everyone, and when it is stale (src/flags/flag-staleness.ts). */
const DAY = 86_400_000;

function flag(extra: Partial<Flag> = {}): Flag {
  return {
    key: 'checkout',
    description: '',
    enabled: true,
    variants: { on: true, off: false },
    defaultVariant: 'off',
    offVariant: 'off',
    rules: [],
    rollout: null,
    ...extra,
  };
}
const rollout = (percentage: number) => ({ percentage, stickiness: 'userId', variant: 'on' as const });

describe('the variants a flag can serve', () => {
  it('is one variant when disabled, without rules, at 0% or 100%', () => {
    assert.deepEqual([...servedVariants(flag({ enabled: false, rollout: rollout(50) }))], ['off']);
    assert.deepEqual([...servedVariants(flag())], ['off']);
    assert.deepEqual([...servedVariants(flag({ rollout: rollout(0) }))], ['off']);
    assert.deepEqual([...servedVariants(flag({ rollout: rollout(100) }))], ['on']);
  });

  it('is two while a rollout is partial or a rule with constraints can answer otherwise', () => {
    assert.deepEqual([...servedVariants(flag({ rollout: rollout(50) }))].sort(), ['off', 'on']);
    const rule = { constraints: [{ operator: 'equals' as const, attribute: 'country', value: 'NL', inverted: false }] };
    assert.deepEqual([...servedVariants(flag({ rules: [{ ...rule, variant: 'on' }] }))].sort(), ['off', 'on']);
    // A rule without constraints always matches: what follows it never runs.
    assert.deepEqual(
      [...servedVariants(flag({ rules: [{ constraints: [], variant: 'on' }], rollout: rollout(50) }))],
      ['on'],
    );
  });
});

describe('staleness', () => {
  const now = 100 * DAY;
  const base = { now, staleAfterMs: 30 * DAY, lastEvaluatedAt: now - DAY };

  it('counts one value for everyone from the oldest change of the run that kept it so', () => {
    const current = flag({ rollout: rollout(100), description: 'edited' });
    const history = [
      { at: 60 * DAY, after: current }, // a description edit: still 100%, the clock does not restart
      { at: 50 * DAY, after: flag({ rollout: rollout(100) }) },
      { at: 40 * DAY, after: flag({ rollout: rollout(50) }) },
    ];
    const found = staleness({ ...base, flag: current, history, updatedAt: 60 * DAY });
    assert.deepEqual(found, [
      { reason: 'single_value', since: 50 * DAY, detail: 'serves on to everyone (100% rollout)' },
    ]);
    // 29 days of one value is not yet stale.
    assert.deepEqual(
      staleness({ ...base, now: 79 * DAY, lastEvaluatedAt: 78 * DAY, flag: current, history, updatedAt: 60 * DAY }),
      [],
    );
  });

  it('a partial rollout is never single_value, however old', () => {
    const current = flag({ rollout: rollout(50) });
    assert.deepEqual(staleness({ ...base, flag: current, history: [{ at: DAY, after: current }], updatedAt: DAY }), []);
  });

  it('not_evaluated counts from the last evaluation, or the last change when later or when never evaluated', () => {
    const current = flag({ rollout: rollout(50) });
    const history = [{ at: 10 * DAY, after: current }];
    assert.deepEqual(staleness({ ...base, lastEvaluatedAt: 20 * DAY, flag: current, history, updatedAt: 10 * DAY }), [
      { reason: 'not_evaluated', since: 20 * DAY, detail: 'no evaluation reported since' },
    ]);
    assert.deepEqual(staleness({ ...base, lastEvaluatedAt: null, flag: current, history, updatedAt: 10 * DAY }), [
      { reason: 'not_evaluated', since: 10 * DAY, detail: 'never evaluated' },
    ]);
    // Changed 5 days ago, last evaluated before that: not stale yet.
    assert.deepEqual(
      staleness({ ...base, lastEvaluatedAt: 20 * DAY, flag: current, history, updatedAt: 95 * DAY }),
      [],
    );
  });
});
