import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_JUDGE_OPTIONS,
  judgeAgainstBaseline,
  median,
  type SideObservations,
} from '../../../src/core/analysis/baseline-judge.js';
import { mulberry32, type RandomSource } from '../../../src/core/analysis/seeded-random.js';
import { logNormalLatencies } from './random-latencies.js';

/** A window of one release: sampled latencies and error counts drawn from an error rate. */
function side(
  random: RandomSource,
  options: { samples: number; medianMs: number; requests: number; errorRate: number },
): SideObservations {
  let errors = 0;
  for (let i = 0; i < options.requests; i++) if (random() < options.errorRate) errors++;
  return {
    latenciesMs: logNormalLatencies(random, options.samples, options.medianMs),
    requests: options.requests,
    errors,
  };
}

const healthy = { samples: 200, medianMs: 80, requests: 2000, errorRate: 0.005 };
const SEEDS = Array.from({ length: 50 }, (_, i) => 1000 + i);

describe('baseline judge', () => {
  it('passes a canary drawn from the same distribution as the baseline for at least 95% of seeds', () => {
    const verdicts = SEEDS.map((seed) => {
      const random = mulberry32(seed);
      return judgeAgainstBaseline({ canary: side(random, healthy), baseline: side(random, healthy) }).verdict;
    });
    const passed = verdicts.filter((v) => v === 'pass').length;
    assert.ok(passed >= 48, `passed ${passed} of 50: ${verdicts.join(' ')}`);
    assert.ok(verdicts.every((v) => v !== 'inconclusive'));
  });

  it('fails a canary whose median latency is 3x the baseline for every seed', () => {
    for (const seed of SEEDS) {
      const random = mulberry32(seed);
      const judgement = judgeAgainstBaseline({
        canary: side(random, { ...healthy, medianMs: 240 }),
        baseline: side(random, healthy),
      });
      assert.equal(judgement.verdict, 'fail', `seed ${seed}: ${judgement.reasons.join('; ')}`);
      assert.equal(judgement.stats.latency?.regressed, true);
      assert.equal(judgement.stats.errorRate?.regressed, false);
      assert.match(
        judgement.reasons[0]!,
        /^latency regressed: canary median .* ms vs baseline .* ms \(\d\.\d\d×, limit 1\.5×\), significant/,
      );
    }
  });

  it('fails a canary with 20% errors against 0.5% for every seed, with latency unchanged', () => {
    for (const seed of SEEDS) {
      const random = mulberry32(seed);
      const judgement = judgeAgainstBaseline({
        canary: side(random, { ...healthy, requests: 300, errorRate: 0.2 }),
        baseline: side(random, healthy),
      });
      assert.equal(judgement.verdict, 'fail', `seed ${seed}: ${judgement.reasons.join('; ')}`);
      assert.equal(judgement.stats.errorRate?.regressed, true);
      assert.equal(judgement.stats.errorRate?.test, 'z-test');
      assert.match(judgement.reasons[1]!, /^error rate regressed: canary \d+\.\d\d% \(\d+\/300\) vs baseline/);
    }
  });

  it('refuses to decide below minSamples, naming what is missing', () => {
    const random = mulberry32(1);
    const judgement = judgeAgainstBaseline({
      canary: side(random, { ...healthy, samples: 12, requests: 12, medianMs: 800, errorRate: 0.5 }),
      baseline: side(random, healthy),
    });
    assert.equal(judgement.verdict, 'inconclusive', 'even an awful canary is not judged on 12 requests');
    assert.deepEqual(judgement.reasons, ['canary: needs ≥ 50 samples, has 12', 'canary: needs ≥ 50 requests, has 12']);
    assert.equal(judgement.stats.latency, null);
    assert.equal(judgement.stats.errorRate, null);
    assert.equal(judgement.stats.canary.samples, 12);

    const empty = judgeAgainstBaseline({
      canary: { latenciesMs: [], requests: 0, errors: 0 },
      baseline: { latenciesMs: [], requests: 0, errors: 0 },
      options: { minSamples: 10 },
    });
    assert.equal(empty.verdict, 'inconclusive');
    assert.equal(empty.reasons.length, 4);
    assert.equal(empty.stats.canary.errorRate, null, 'no NaN without requests');
    assert.equal(empty.stats.canary.medianMs, null);
  });

  it('does not fail a difference that is significant but too small to matter', () => {
    const random = mulberry32(5);
    const baseline = side(random, { ...healthy, samples: 5000, requests: 200_000, errorRate: 0.005 });
    const canary = side(random, { ...healthy, samples: 5000, medianMs: 92, requests: 200_000, errorRate: 0.007 });
    const judgement = judgeAgainstBaseline({ canary, baseline });
    assert.equal(judgement.stats.latency?.significant, true, '15% slower is detectable with 5000 samples');
    assert.equal(judgement.stats.errorRate?.significant, true, '+0.2 points is detectable with 200k requests');
    assert.equal(judgement.verdict, 'pass');
    assert.match(judgement.reasons[0]!, /^latency ok: canary is slower .* but by less than the limit/);
    assert.match(judgement.reasons[1]!, /^error rate ok: canary errs more .* but by less than the limit/);

    const strict = judgeAgainstBaseline({
      canary,
      baseline,
      options: { maxLatencyRatio: 1.1, maxErrorRateIncrease: 0.001 },
    });
    assert.equal(strict.verdict, 'fail', 'the same data fails once the limits say 10% and 0.1 points matter');
  });

  it('does not fail one error in a small canary (Fisher exact test instead of the z-test)', () => {
    const random = mulberry32(9);
    const judgement = judgeAgainstBaseline({
      canary: { ...side(random, healthy), requests: 50, errors: 1 },
      baseline: { ...side(random, healthy), requests: 1000, errors: 0 },
    });
    assert.equal(judgement.stats.errorRate?.test, 'fisher-exact');
    assert.equal(judgement.stats.errorRate?.z, null);
    assert.ok(Math.abs((judgement.stats.errorRate?.pValue ?? 0) - 50 / 1050) < 1e-12);
    assert.equal(judgement.verdict, 'pass', judgement.reasons.join('; '));
  });

  it('passes with no errors on either side and no NaN anywhere in the stats', () => {
    const random = mulberry32(2);
    const judgement = judgeAgainstBaseline({
      canary: side(random, { ...healthy, errorRate: 0 }),
      baseline: side(random, { ...healthy, errorRate: 0 }),
    });
    assert.equal(judgement.verdict, 'pass');
    assert.equal(judgement.stats.errorRate?.pValue, 1);
    const numbers = JSON.stringify(judgement.stats, (_k, v: unknown) =>
      typeof v === 'number' && !Number.isFinite(v) ? 'NOT FINITE' : v,
    );
    assert.ok(!numbers.includes('NOT FINITE'), numbers);
  });

  it('keeps the median ratio finite when the baseline median is 0 ms', () => {
    const zeros = Array.from({ length: 60 }, () => 0);
    const judgement = judgeAgainstBaseline({
      canary: { latenciesMs: zeros.map(() => 5), requests: 60, errors: 0 },
      baseline: { latenciesMs: zeros, requests: 60, errors: 0 },
    });
    assert.equal(judgement.verdict, 'fail');
    assert.ok(Number.isFinite(judgement.stats.latency!.medianRatio));
  });

  it('is deterministic and leaves its input alone', () => {
    const make = () => {
      const random = mulberry32(77);
      return { canary: side(random, { ...healthy, medianMs: 100 }), baseline: side(random, healthy) };
    };
    const input = make();
    const before = JSON.stringify(input);
    assert.deepEqual(judgeAgainstBaseline(input), judgeAgainstBaseline(make()));
    assert.equal(JSON.stringify(input), before);
  });

  it('refuses invalid input and options', () => {
    const ok = { latenciesMs: [1], requests: 1, errors: 0 };
    assert.throws(() => judgeAgainstBaseline({ canary: { ...ok, latenciesMs: [-1] }, baseline: ok }), RangeError);
    assert.throws(
      () => judgeAgainstBaseline({ canary: { ...ok, latenciesMs: [Number.NaN] }, baseline: ok }),
      RangeError,
    );
    assert.throws(() => judgeAgainstBaseline({ canary: { ...ok, errors: 2 }, baseline: ok }), RangeError);
    assert.throws(() => judgeAgainstBaseline({ canary: ok, baseline: ok, options: { alpha: 0 } }), RangeError);
    assert.throws(() => judgeAgainstBaseline({ canary: ok, baseline: ok, options: { minSamples: 0 } }), RangeError);
  });

  it('has the documented defaults and an ordinary median', () => {
    assert.deepEqual(DEFAULT_JUDGE_OPTIONS, {
      minSamples: 50,
      alpha: 0.01,
      maxLatencyRatio: 1.5,
      maxErrorRateIncrease: 0.01,
    });
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
  });
});
