import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CutoverError } from '../../src/core/errors.js';
import { parseFlag, parseSegments, safeParseFlag, type FlagIssue } from '../../src/flags/flag-schema.js';

const valid = {
  key: 'new-checkout',
  enabled: true,
  variants: { on: true, off: false },
  defaultVariant: 'off',
  offVariant: 'off',
};

function issuesOf(input: unknown): FlagIssue[] {
  const result = safeParseFlag(input);
  assert.equal(result.ok, false, 'expected the flag to be refused');
  return result.ok ? [] : result.issues;
}

describe('flag schema', () => {
  it('fills the defaults of a minimal flag', () => {
    assert.deepEqual(parseFlag(valid), { ...valid, description: '', rules: [], rollout: null });
    const flag = parseFlag({
      ...valid,
      rules: [
        {
          constraints: [{ operator: 'in', attribute: 'country', values: ['DE'] }],
          rollout: { percentage: 12.5, variant: 'on' },
        },
      ],
    });
    assert.deepEqual(flag.rules[0], {
      constraints: [{ operator: 'in', attribute: 'country', values: ['DE'], inverted: false }],
      rollout: { percentage: 12.5, stickiness: 'userId', variant: 'on' },
    });
  });

  it('says where each problem is and what was expected, all at once', () => {
    const issues = issuesOf({
      ...valid,
      key: 'a/b',
      enabled: 'yes',
      defaultVariant: 'of',
      rules: [
        {
          constraints: [
            { operator: 'eq', attribute: 'country', value: 'DE' },
            { operator: 'semver_lt', attribute: 'v', value: '1.2' },
          ],
          variant: 'on',
        },
        { contraints: [], variant: 'on' },
        { constraints: [], variant: 'on', rollout: { percentage: 5, variant: 'on' } },
      ],
      rollout: { percentage: 12.345, variants: [{ variant: 'on', weight: 0 }] },
    });
    const byPath = Object.fromEntries(issues.map((issue) => [issue.path, issue.message]));
    assert.match(byPath.key!, /^expected a flag key .*, got "a\/b"$/);
    assert.equal(byPath.enabled, 'expected true or false, got "yes"');
    assert.match(
      byPath['rules[0].constraints[0].operator']!,
      /^expected operator to be one of equals, .*in_segment, got "eq"$/,
    );
    assert.match(byPath['rules[0].constraints[1].value']!, /^expected a semantic version .*, got "1\.2"$/);
    assert.equal(byPath['rules[1].contraints'], 'unknown key');
    assert.match(byPath['rules[2]']!, /either `variant` or `rollout`/);
    assert.match(byPath['rollout.percentage']!, /^expected a percentage from 0 to 100 in steps of 0\.01, got 12\.345$/);
    assert.equal(byPath['rollout.variants'], 'expected at least one weight above 0');
  });

  it('refuses a variant name that is not among the variants', () => {
    const issues = issuesOf({
      ...valid,
      offVariant: 'Off',
      rollout: {
        percentage: 10,
        variants: [
          { variant: 'on', weight: 1 },
          { variant: 'maybe', weight: 1 },
        ],
      },
    });
    assert.deepEqual(issues, [
      { path: 'offVariant', message: 'expected one of the variants on, off, got "Off"' },
      { path: 'rollout.variants[1].variant', message: 'expected one of the variants on, off, got "maybe"' },
    ]);
  });

  it('throws CONFIG_INVALID from parseFlag with the issues as details', () => {
    assert.throws(
      () => parseFlag({ ...valid, enabled: undefined }),
      (error: unknown) => {
        assert.ok(error instanceof CutoverError);
        assert.equal(error.code, 'CONFIG_INVALID');
        assert.equal(error.message, 'The flag "new-checkout" is invalid: enabled: expected true or false, got nothing');
        assert.deepEqual(error.details, [{ path: 'enabled', message: 'expected true or false, got nothing' }]);
        return true;
      },
    );
    assert.deepEqual(issuesOf(null), [{ path: '', message: 'expected a flag (a JSON object), got null' }]);
  });

  it('refuses nested segments', () => {
    assert.throws(
      () => parseSegments({ staff: [{ operator: 'in_segment', segment: 'other' }] }),
      /staff\[0\]\.operator: expected a constraint on an attribute/,
    );
  });
});
