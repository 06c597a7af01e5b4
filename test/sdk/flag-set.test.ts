import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { readCache, writeCache, CacheWriter } from '../../src/sdk/flags/disk-cache.js';
import { EvaluationCounter } from '../../src/sdk/flags/evaluation-counter.js';
import { FlagEvaluator } from '../../src/sdk/flags/flag-evaluator.js';
import { FlagSet, type FlagSnapshot } from '../../src/sdk/flags/flag-set.js';
import { ReconnectBackoff } from '../../src/sdk/flags/reconnect-backoff.js';
import { boolFlag } from './flag-admin.js';
import { pinned, vectors } from './shared-vectors.js';

/**
 * The SDK's parts without a server: the flag set (parse errors kept per
 * flag, segments checked once), the allocation-free evaluation on every
 * shared vector, the counts, the backoff and the disk cache.
 */

const counter = new EvaluationCounter();
const tallyFor = (key: string) => counter.tallyFor(key);
const snapshot = (flags: unknown[], segments: unknown = {}, revision = 1): FlagSnapshot => ({
  environment: 'production',
  revision,
  flags,
  segments,
});

describe('SDK evaluation: shared test vectors', () => {
  const evaluator = new FlagEvaluator();
  for (const vector of vectors) {
    it(vector.name, () => {
      const set = FlagSet.fromSnapshot(snapshot([vector.flag], vector.segments ?? {}), tallyFor);
      const key = (vector.flag as { key: string }).key;
      const entry = set.get(key);
      assert.ok(entry !== undefined, 'every vector flag names a key, so the set holds it even when it does not parse');
      const options = vector.expectedType === undefined ? {} : { expectedType: vector.expectedType };
      const evaluation = evaluator.evaluate(entry, vector.context, options);
      assert.deepEqual(pinned(evaluation), vector.expected, vector.note);
      if (evaluation.reason === 'ERROR') assert.ok((evaluation.errorMessage ?? '').length > 0);
      // The two allocation-free answers agree with the detailed one.
      const untyped = evaluator.evaluate(entry, vector.context, {});
      const enabled = untyped.reason !== 'ERROR' && untyped.variant !== entry.flag?.offVariant;
      assert.equal(evaluator.isEnabled(entry, vector.context), enabled);
      const fallback = { fallback: true };
      const isObject = untyped.value !== null && typeof untyped.value === 'object';
      assert.deepEqual(
        evaluator.getValue(entry, fallback, vector.context),
        untyped.reason !== 'ERROR' && isObject ? untyped.value : fallback,
      );
    });
  }
});

describe('SDK flag set', () => {
  const good = boolFlag('good', { rollout: { percentage: 100, variant: 'on' } });
  const fromNewerServer = boolFlag('future', {
    rules: [{ constraints: [{ operator: 'regex_match', attribute: 'email', value: '.*' }], variant: 'on' }],
  });

  it('keeps a flag it cannot parse as a PARSE_ERROR, and the other flags keep working', () => {
    const set = FlagSet.fromSnapshot(snapshot([good, fromNewerServer]), tallyFor);
    const evaluator = new FlagEvaluator();
    assert.deepEqual(set.keys().sort(), ['future', 'good']);
    const broken = evaluator.evaluate(set.get('future')!, { userId: 'u' }, {});
    assert.equal(broken.reason, 'ERROR');
    assert.equal(broken.errorCode, 'PARSE_ERROR');
    assert.match(broken.errorMessage!, /rules\[0\]\.constraints\[0\]\.operator/);
    assert.equal(evaluator.isEnabled(set.get('future')!, { userId: 'u' }), false);
    assert.equal(evaluator.getValue(set.get('future')!, true, { userId: 'u' }), true, 'the caller default');
    assert.deepEqual(evaluator.evaluate(set.get('good')!, { userId: 'u' }, {}), {
      value: true,
      variant: 'on',
      reason: 'SPLIT',
    });
    assert.equal(evaluator.isEnabled(set.get('good')!, { userId: 'u' }), true);
  });

  it('drops a flag without a key (it cannot be addressed) and keeps the rest', () => {
    const set = FlagSet.fromSnapshot(snapshot([good, { enabled: true }, 'not a flag']), tallyFor);
    assert.deepEqual(set.keys(), ['good']);
  });

  it('answers PARSE_ERROR for flags using a segment it cannot read, GENERAL for a missing one, and not while disabled', () => {
    const inSegment = (key: string, segment: string, enabled = true) =>
      boolFlag(key, { enabled, rules: [{ constraints: [{ operator: 'in_segment', segment }], variant: 'on' }] });
    const segments = {
      staff: [{ operator: 'ends_with', attribute: 'email', value: '@example.com' }],
      odd: [{ operator: 'glob', attribute: 'email', value: '*' }],
    };
    const set = FlagSet.fromSnapshot(
      snapshot(
        [
          inSegment('uses-staff', 'staff'),
          inSegment('uses-odd', 'odd'),
          inSegment('uses-none', 'none'),
          inSegment('off-odd', 'odd', false),
        ],
        segments,
      ),
      tallyFor,
    );
    const evaluator = new FlagEvaluator();
    const context = { email: 'a@example.com' };
    assert.equal(evaluator.evaluate(set.get('uses-staff')!, context, {}).reason, 'TARGETING_MATCH');
    assert.equal(evaluator.evaluate(set.get('uses-odd')!, context, {}).errorCode, 'PARSE_ERROR');
    assert.equal(evaluator.evaluate(set.get('uses-none')!, context, {}).errorCode, 'GENERAL');
    assert.equal(evaluator.evaluate(set.get('off-odd')!, context, {}).reason, 'DISABLED');
    assert.deepEqual([...set.brokenSegments.keys()], ['odd']);
  });

  it('moves one revision per event and names the flags whose answers may change', () => {
    const segmentFlag = boolFlag('segmented', {
      rules: [{ constraints: [{ operator: 'in_segment', segment: 'staff' }], variant: 'on' }],
    });
    const first = FlagSet.fromSnapshot(snapshot([good, segmentFlag], { staff: [] }, 7), tallyFor);
    const changed = first.withFlag(8, 'good', { ...good, enabled: false }, tallyFor);
    assert.equal(changed.revision, 8);
    assert.equal(first.get('good')!.flag!.enabled, true, 'the old set is left as it was');
    assert.deepEqual(first.changedKeys(changed), ['good']);
    const deleted = changed.withFlag(9, 'good', null, tallyFor);
    assert.deepEqual(deleted.keys(), ['segmented']);
    const resegmented = deleted.withSegments(10, { staff: [{ operator: 'equals', attribute: 'team', value: 'core' }] });
    assert.deepEqual(deleted.changedKeys(resegmented), ['segmented']);
    assert.deepEqual(resegmented.toSnapshot().segments, {
      staff: [{ operator: 'equals', attribute: 'team', value: 'core' }],
    });
    assert.deepEqual(
      first.changedKeys(FlagSet.fromSnapshot(first.toSnapshot(), tallyFor)),
      [],
      'the same set changes nothing',
    );
  });

  it('hands out frozen variant values, so a caller cannot change the set for everyone', () => {
    const set = FlagSet.fromSnapshot(
      snapshot([
        { key: 'limits', enabled: true, variants: { a: { perMinute: 10 } }, defaultVariant: 'a', offVariant: 'a' },
      ]),
      tallyFor,
    );
    const value = new FlagEvaluator().getValue(set.get('limits')!, {}, {}) as { perMinute: number };
    assert.throws(() => {
      value.perMinute = 1;
    }, TypeError);
  });
});

describe('SDK evaluation counts', () => {
  it('counts per flag and variant, failed evaluations as variant null, and gives a failed report back', () => {
    const counts = new EvaluationCounter();
    const set = FlagSet.fromSnapshot(
      snapshot([boolFlag('a', { rollout: { percentage: 50, variant: 'on' } }), { key: 'b', enabled: 'yes' }]),
      (key) => counts.tallyFor(key),
    );
    const evaluator = new FlagEvaluator();
    let on = 0;
    for (let user = 0; user < 1000; user++) if (evaluator.isEnabled(set.get('a')!, { userId: `user-${user}` })) on++;
    evaluator.evaluate(set.get('b')!, {}, {});
    evaluator.getValue(set.get('a')!, 'text', {}); // a boolean flag asked for a string: TYPE_MISMATCH, counted as failed
    const batch = counts.take(new Set(['a', 'b']));
    const byLine = Object.fromEntries(batch.map((line) => [`${line.flag}:${line.variant}`, line.count]));
    assert.deepEqual(byLine, { 'a:on': on, 'a:off': 1000 - on, 'a:null': 1, 'b:null': 1 });
    assert.equal(counts.pending(), 0, 'taken out for the report');
    counts.restore(batch);
    assert.equal(counts.pending(), 1002, 'a failed report keeps its counts');
    evaluator.isEnabled(set.get('a')!, { userId: 'user-1' });
    assert.equal(
      counts.take(new Set(['a'])).reduce((sum, line) => sum + line.count, 0),
      1003,
    );
  });
});

describe('SDK reconnect backoff', () => {
  it('starts at 0.5 s, doubles to 30 s, and jitters by at most 20 %', () => {
    const middle = new ReconnectBackoff({}, () => 0.5);
    assert.deepEqual(
      Array.from({ length: 9 }, () => middle.next()),
      [500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000],
    );
    middle.reset();
    assert.equal(middle.next(), 500);
    const low = new ReconnectBackoff({}, () => 0);
    const high = new ReconnectBackoff({}, () => 0.999_999);
    assert.equal(low.next(), 400);
    assert.ok(Math.abs(high.next() - 600) < 0.01);
  });
});

describe('SDK disk cache', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-sdk-cache-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads back what it wrote, leaving no temp file, and refuses another environment or a damaged file', async () => {
    const file = path.join(dir, 'nested', 'flags.json');
    const written = snapshot([boolFlag('a')], { staff: [] }, 41);
    await writeCache(file, written);
    assert.deepEqual(await readCache(file, 'production'), written);
    assert.deepEqual(await readCache(file, undefined), written);
    assert.equal(await readCache(file, 'staging'), null);
    assert.deepEqual(readdirSync(path.dirname(file)), ['flags.json']);
    writeFileSync(file, '{"format":1,"snapshot":');
    assert.equal(await readCache(file, 'production'), null);
    assert.equal(await readCache(path.join(dir, 'missing.json'), 'production'), null);
  });

  it('writes the newest of a burst of sets, in order', async () => {
    const file = path.join(dir, 'burst.json');
    const writer = new CacheWriter(file, (error) => assert.fail(String(error)));
    for (let revision = 1; revision <= 20; revision++) writer.save(snapshot([], {}, revision));
    await writer.idle();
    assert.equal((JSON.parse(readFileSync(file, 'utf8')) as { snapshot: FlagSnapshot }).snapshot.revision, 20);
  });
});
