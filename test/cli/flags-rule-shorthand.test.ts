import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSteps, parsePause } from '../../src/cli/commands/flag-rollout-command.js';
import {
  formatRule,
  parsePercentage,
  parseRuleShorthand,
  RULE_OPERATORS,
} from '../../src/cli/commands/flag-rule-shorthand.js';
import { summarizeChange } from '../../src/cli/commands/flags-format.js';
import { newBooleanFlag } from '../../src/cli/commands/flag-set-command.js';
import { CutoverError } from '../../src/core/errors.js';
import { evaluateFlag, safeParseFlag, type Flag, type Rule } from '../../src/flags/index.js';

function rule(text: string): Rule {
  const parsed = parseRuleShorthand(text);
  assert.ok(parsed.ok, `${text}: ${parsed.ok ? '' : parsed.problem}`);
  return parsed.rule;
}

function problem(text: string): string {
  const parsed = parseRuleShorthand(text);
  assert.ok(!parsed.ok, `${text} should be refused, got ${JSON.stringify(parsed.ok && parsed.rule)}`);
  return parsed.problem;
}

/** The rule inside a real flag, checked by the same schema the server uses. */
function flagWith(...rules: Rule[]): Flag {
  const parsed = safeParseFlag({ ...newBooleanFlag('f'), variants: { on: true, off: false, beta: true }, rules });
  assert.ok(parsed.ok, JSON.stringify(!parsed.ok && parsed.issues));
  return parsed.value;
}

describe('the --rule shorthand', () => {
  it('reads the examples of the help into rules the flag schema accepts', () => {
    assert.deepEqual(rule('country in SE,NO -> on'), {
      constraints: [{ operator: 'in', attribute: 'country', values: ['SE', 'NO'], inverted: false }],
      variant: 'on',
    });
    assert.deepEqual(rule('staff: email ends_with @example.com -> on'), {
      name: 'staff',
      constraints: [{ operator: 'ends_with', attribute: 'email', value: '@example.com', inverted: false }],
      variant: 'on',
    });
    assert.deepEqual(rule('appVersion semver_gt 2.0.0 -> on'), {
      constraints: [{ operator: 'semver_gt', attribute: 'appVersion', value: '2.0.0', inverted: false }],
      variant: 'on',
    });
    assert.deepEqual(rule('plan equals pro and seats num_gte 10 -> 50% beta by accountId'), {
      constraints: [
        { operator: 'equals', attribute: 'plan', value: 'pro', inverted: false },
        { operator: 'num_gte', attribute: 'seats', value: 10, inverted: false },
      ],
      rollout: { percentage: 50, stickiness: 'accountId', variant: 'beta' },
    });
    assert.deepEqual(rule('in_segment beta -> on'), {
      constraints: [{ operator: 'in_segment', segment: 'beta', inverted: false }],
      variant: 'on',
    });
    assert.deepEqual(rule('always -> off'), { constraints: [], variant: 'off' });
    flagWith(
      rule('country in SE,NO -> on'),
      rule('plan equals pro and seats num_gte 10 -> 50% beta by accountId'),
      rule('not in_segment beta -> off'),
    );
  });

  it('evaluates as written: the parsed rule serves the users it names', () => {
    const flag = flagWith(
      rule('country in SE, NO and appVersion semver_gt 2.0.0 -> beta'),
      rule('email not ends_with @example.com -> off'),
      rule('always -> on'),
    );
    assert.equal(evaluateFlag(flag, { country: 'NO', appVersion: '2.1.0' }).variant, 'beta');
    assert.equal(evaluateFlag(flag, { country: 'NO', appVersion: '1.9.9', email: 'a@gmail.com' }).variant, 'off');
    assert.equal(evaluateFlag(flag, { country: 'DK', email: 'me@example.com' }).variant, 'on');
  });

  it('takes quoted values with spaces, commas and keywords, and not before an operator', () => {
    assert.deepEqual(rule('"rule one": city in "New York", "Oslo, Norway" and name not equals "and" -> "off"'), {
      name: 'rule one',
      constraints: [
        { operator: 'in', attribute: 'city', values: ['New York', 'Oslo, Norway'], inverted: false },
        { operator: 'equals', attribute: 'name', value: 'and', inverted: true },
      ],
      variant: 'off',
    });
  });

  it('passes a JSON rule through for the server to check', () => {
    assert.deepEqual(rule(' {"constraints":[],"variant":"on"} '), { constraints: [], variant: 'on' });
    assert.match(problem('{"constraints": ['), /not valid JSON/);
    assert.match(problem('["on"]'), /expected a JSON object/);
  });

  it('names the problem: an unknown operator lists the known ones', () => {
    const unknown = problem('email endswith @example.com -> on');
    assert.match(unknown, /unknown operator "endswith"/);
    assert.match(unknown, /did you mean ends_with\?/);
    for (const operator of RULE_OPERATORS) assert.ok(unknown.includes(operator), `lists ${operator}`);
    assert.match(problem('country in SE,NO'), /missing "-> VARIANT"/);
    assert.match(problem('country in SE -> '), /expected a variant after "->"/);
    assert.match(problem('country in SE -> on -> off'), /expected one "->", found 2/);
    assert.match(
      problem('seats num_gte ten -> on'),
      /"num_gte" compares numbers: expected a number after "seats num_gte", got "ten"/,
    );
    assert.match(problem('appVersion semver_gt 2.0 -> on'), /expected a version such as 2.0.0/);
    assert.match(
      problem('country equals SE NO -> on'),
      /unexpected "NO" at column 19 after "country equals SE": join conditions with "and"/,
    );
    assert.match(problem('country in SE, -> on'), /expected a value after the last ","/);
    assert.match(problem('country equals -> on'), /expected a value after "country equals"/);
    assert.match(problem('country -> on'), /expected an operator after "country"/);
    assert.match(problem('plan equals pro and -> on'), /expected a condition after the last "and"/);
    assert.match(problem('email ends_with "@example.com -> on'), /no closing "/);
    assert.match(problem('beta in_segment x -> on'), /"in_segment" takes a segment name and no attribute/);
    assert.match(problem('always -> 150% on'), /expected a percentage from 0 to 100/);
    assert.match(problem('always -> 10% on by'), /expected an attribute after "by"/);
  });

  it('formats rules back into shorthand that reads as the same rule', () => {
    const texts = [
      'country in SE,NO -> on',
      'staff: email ends_with @example.com -> on',
      'plan equals pro and seats num_gte 10.5 -> 50% beta by accountId',
      'not in_segment beta -> off',
      '"rule one": city in "New York","Oslo, Norway" and name not equals "and" -> off',
      'always -> 2.5% on',
    ];
    for (const text of texts) {
      assert.equal(formatRule(rule(text)), text);
      assert.deepEqual(rule(formatRule(rule(text))), rule(text));
    }
  });
});

describe('the other options of cutover flags, checked before any request', () => {
  it('percentages run from 0 to 100 in steps of 0.01', () => {
    assert.equal(parsePercentage('0'), 0);
    assert.equal(parsePercentage('12.34'), 12.34);
    assert.equal(parsePercentage('100'), 100);
    for (const bad of ['110', '-5', '1.234', 'ten', '', '1e2']) assert.equal(parsePercentage(bad), null, bad);
  });

  it('--steps are increasing percentages in (0, 100], --pause a duration', () => {
    assert.deepEqual(parseSteps('10,50,100'), [10, 50, 100]);
    assert.deepEqual(parseSteps('5%, 25%'), [5, 25]);
    const refusal = (text: string): string => {
      try {
        parseSteps(text);
      } catch (error) {
        assert.ok(error instanceof CutoverError);
        return error.message;
      }
      return assert.fail(`${text} should be refused`);
    };
    assert.match(refusal('50,10'), /the steps must increase, but 10 follows 50/);
    assert.match(refusal('0,50'), /above 0%/);
    assert.match(refusal('10,150'), /"150" is not a percentage/);
    assert.match(refusal('10,,50'), /"" is not a percentage/);
    assert.equal(parsePause('300ms'), 300);
    assert.equal(parsePause('5m'), 300_000);
    assert.throws(() => parsePause('5 minutes'), /--pause "5 minutes": expected a duration like 500ms/);
    assert.throws(() => parsePause('0s'), /greater than zero/);
  });

  it('history entries read as before → after', () => {
    const before = { ...newBooleanFlag('f'), rollout: { percentage: 10, stickiness: 'userId', variant: 'on' } };
    assert.equal(
      summarizeChange({
        action: 'update',
        before,
        after: { ...before, rollout: { ...before.rollout, percentage: 50 } },
      }),
      'rollout 10% → 50%',
    );
    assert.equal(
      summarizeChange({ action: 'update', before, after: { ...before, enabled: false } }),
      'enabled true → false',
    );
    assert.equal(
      summarizeChange({ action: 'update', before, after: { ...before, rollout: null, rules: [rule('always -> on')] } }),
      'rollout 10% on → none; rules 0 → 1',
    );
    assert.equal(
      summarizeChange({ action: 'create', before: null, after: before }),
      'created: enabled, rollout 10% on, rules: 0',
    );
    assert.equal(summarizeChange({ action: 'delete', before, after: null }), 'deleted');
  });
});
