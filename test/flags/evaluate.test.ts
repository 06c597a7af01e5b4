import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { evaluateFlag, evaluateFlagJson, type Evaluation, type FlagValueType } from '../../src/flags/evaluate.js';
import type { Flag, Rule } from '../../src/flags/flag-model.js';
import { parseFlag, parseSegments } from '../../src/flags/flag-schema.js';

/**
 * The shared vectors first: the SDK and the OpenFeature provider run the same
 * file, so a behaviour pinned here is pinned everywhere. Then the properties a
 * percentage rollout promises, over many users.
 */

interface Vector {
  name: string;
  flag: unknown;
  context: Record<string, unknown>;
  segments?: unknown;
  expectedType?: FlagValueType;
  note?: string;
  expected: Pick<Evaluation, 'value' | 'variant' | 'reason' | 'ruleIndex' | 'errorCode'>;
}

const vectorsFile = new URL('../../../test/flags/vectors.json', import.meta.url);
const { vectors } = JSON.parse(readFileSync(vectorsFile, 'utf8')) as { vectors: Vector[] };

/** The fields a vector pins; errorMessage is for people and may differ between SDKs. */
function pinned(evaluation: Evaluation): Vector['expected'] {
  const { value, variant, reason, ruleIndex, errorCode } = evaluation;
  return {
    value,
    variant,
    reason,
    ...(ruleIndex === undefined ? {} : { ruleIndex }),
    ...(errorCode === undefined ? {} : { errorCode }),
  };
}

describe('flag evaluation: shared test vectors', () => {
  it('has uniquely named vectors', () => {
    assert.ok(vectors.length > 100);
    assert.equal(new Set(vectors.map((vector) => vector.name)).size, vectors.length);
  });

  for (const vector of vectors) {
    it(vector.name, () => {
      const segments = vector.segments === undefined ? undefined : parseSegments(vector.segments);
      const options = vector.expectedType === undefined ? {} : { expectedType: vector.expectedType };
      const evaluation = evaluateFlagJson(vector.flag, vector.context, segments, options);
      assert.deepEqual(pinned(evaluation), vector.expected, vector.note);
      if (evaluation.reason === 'ERROR')
        assert.ok(evaluation.errorMessage !== undefined && evaluation.errorMessage.length > 0);
    });
  }

  it('covers every operator, plain and inverted', () => {
    const used = new Set<string>();
    const visit = (value: unknown): void => {
      if (Array.isArray(value)) value.forEach(visit);
      else if (value !== null && typeof value === 'object') {
        const record = value as Record<string, unknown>;
        if (typeof record.operator === 'string') used.add(record.operator);
        if (record.inverted === true) used.add('inverted');
        Object.values(record).forEach(visit);
      }
    };
    visit(vectors.map((vector) => [vector.flag, vector.segments]));
    const operators = [
      'equals',
      'in',
      'not_in',
      'starts_with',
      'ends_with',
      'contains',
      'num_eq',
      'num_lt',
      'num_lte',
      'num_gt',
      'num_gte',
      'semver_eq',
      'semver_lt',
      'semver_gt',
      'in_segment',
      'inverted',
    ];
    assert.deepEqual(
      operators.filter((operator) => !used.has(operator)),
      [],
    );
  });
});

const users = Array.from({ length: 100_000 }, (_, index) => ({ userId: `user-${index}` }));

function rolloutFlag(percentage: number, enabled = true): Flag {
  return parseFlag({
    key: 'search-v2',
    enabled,
    variants: { a: 'a', b: 'b', c: 'c', control: 'control' },
    defaultVariant: 'control',
    offVariant: 'control',
    rollout: {
      percentage,
      variants: [
        { variant: 'a', weight: 50 },
        { variant: 'b', weight: 30 },
        { variant: 'c', weight: 20 },
      ],
    },
  });
}

describe('flag evaluation: percentage rollout properties', () => {
  const tenPercent = rolloutFlag(10);
  const fiftyPercent = rolloutFlag(50);
  const atTen = users.map((context) => evaluateFlag(tenPercent, context));
  const atFifty = users.map((context) => evaluateFlag(fiftyPercent, context));

  it('enables between 9.5 % and 10.5 % of 100,000 users at 10 %', () => {
    const enabled = atTen.filter((evaluation) => evaluation.reason === 'SPLIT').length;
    assert.ok(enabled >= 9_500 && enabled <= 10_500, `${enabled} enabled`);
    const atFiftyCount = atFifty.filter((evaluation) => evaluation.reason === 'SPLIT').length;
    assert.ok(atFiftyCount >= 49_500 && atFiftyCount <= 50_500, `${atFiftyCount} enabled at 50 %`);
  });

  it('keeps every user of 10 % in at 50 %, with the same variant', () => {
    atTen.forEach((evaluation, index) => {
      if (evaluation.reason !== 'SPLIT') return;
      assert.equal(atFifty[index]!.reason, 'SPLIT', users[index]!.userId);
      assert.equal(atFifty[index]!.variant, evaluation.variant, users[index]!.userId);
    });
  });

  it('splits the variants by weight (50/30/20, within 1.5 points)', () => {
    const counts = new Map<string, number>();
    let total = 0;
    for (const evaluation of atFifty) {
      if (evaluation.reason !== 'SPLIT') continue;
      total++;
      counts.set(evaluation.variant!, (counts.get(evaluation.variant!) ?? 0) + 1);
    }
    for (const [variant, share] of [
      ['a', 0.5],
      ['b', 0.3],
      ['c', 0.2],
    ] as const) {
      const actual = (counts.get(variant) ?? 0) / total;
      assert.ok(Math.abs(actual - share) < 0.015, `${variant}: ${actual}`);
    }
  });

  it('gives the same answer for the same input, whatever the order of the context', () => {
    for (const [index, context] of users.slice(0, 5_000).entries()) {
      const reordered = { country: 'DE', ...context };
      assert.deepEqual(evaluateFlag(tenPercent, reordered), atTen[index]);
      assert.deepEqual(evaluateFlag(rolloutFlag(10), context), atTen[index]);
    }
  });
});

describe('flag evaluation: the kill switch wins', () => {
  /** Small seeded PRNG (mulberry32) so a failure is reproducible. */
  function random(seed: number): () => number {
    return () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
    };
  }

  it('answers the off variant with DISABLED for any rules, rollout and context', () => {
    const next = random(7);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
    const segments = parseSegments({
      everyone: [],
      germany: [{ operator: 'equals', attribute: 'country', value: 'DE' }],
    });
    for (let round = 0; round < 500; round++) {
      const rules: unknown[] = Array.from({ length: Math.floor(next() * 4) }, () => ({
        constraints:
          next() < 0.5
            ? []
            : [
                pick([
                  { operator: 'equals', attribute: 'country', value: 'DE' },
                  { operator: 'in_segment', segment: pick(['everyone', 'germany', 'undefined-segment']) },
                  { operator: 'num_gte', attribute: 'age', value: 18, inverted: true },
                ]),
              ],
        ...(next() < 0.5
          ? { variant: pick(['on', 'off', 'other']) }
          : { rollout: { percentage: Math.round(next() * 10_000) / 100, variant: 'on' } }),
      }));
      const enabled = parseFlag({
        key: `flag-${round}`,
        enabled: true,
        variants: { on: true, off: false, other: true },
        defaultVariant: pick(['on', 'other']),
        offVariant: 'off',
        rules,
        rollout: next() < 0.5 ? null : { percentage: 100, variant: 'on' },
      });
      const disabled = { ...enabled, enabled: false };
      const context = { userId: `user-${round}`, country: pick(['DE', 'FR']), age: Math.floor(next() * 90) };
      assert.deepEqual(evaluateFlag(disabled, context, segments), { value: false, variant: 'off', reason: 'DISABLED' });
      assert.notEqual(evaluateFlag(enabled, context, segments).reason, 'DISABLED');
    }
  });
});

describe('flag evaluation: rule shapes', () => {
  it('reports the index of the rule that answered', () => {
    const rules: Rule[] = [
      { constraints: [{ operator: 'equals', attribute: 'plan', value: 'pro', inverted: false }], variant: 'on' },
      { constraints: [], rollout: { percentage: 100, stickiness: 'userId', variant: 'on' } },
    ];
    const flag: Flag = {
      key: 'x',
      description: '',
      enabled: true,
      variants: { on: true, off: false },
      defaultVariant: 'off',
      offVariant: 'off',
      rules,
      rollout: null,
    };
    assert.equal(evaluateFlag(flag, { plan: 'pro' }).ruleIndex, 0);
    assert.deepEqual(evaluateFlag(flag, { userId: 'u' }), {
      value: true,
      variant: 'on',
      reason: 'SPLIT',
      ruleIndex: 1,
    });
    assert.deepEqual(evaluateFlag(flag, {}), { value: false, variant: 'off', reason: 'DEFAULT' });
  });
});
