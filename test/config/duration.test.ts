import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDuration, parseDuration } from '../../src/config/duration.js';

describe('parseDuration', () => {
  it('reads unit-suffixed durations and bare seconds into ms', () => {
    const cases: [unknown, number][] = [
      ['500ms', 500],
      ['1s', 1000],
      ['1.5s', 1500],
      ['2m', 120_000],
      ['1h', 3_600_000],
      ['1m30s', 90_000],
      ['1h2m3s4ms', 3_723_004],
      [' 10s ', 10_000],
      [5, 5000],
      [0.25, 250],
      ['3', 3000],
      ['0.5', 500],
    ];
    for (const [input, ms] of cases)
      assert.deepEqual(parseDuration(input), { ok: true, ms }, `for ${JSON.stringify(input)}`);
  });

  it('refuses garbage with a message that shows the accepted forms', () => {
    for (const input of ['', 'soon', '1 s', '10S', '1d', 's', '1s2', true, null, [1], {}, Number.NaN]) {
      const result = parseDuration(input);
      assert.equal(result.ok, false, `accepted ${JSON.stringify(input)}`);
      if (!result.ok) assert.match(result.expected, /500ms, 1s/);
    }
  });

  it('refuses negatives, zero where it means nothing, and lengths past the timer limit', () => {
    assert.deepEqual(parseDuration('-1s'), { ok: false, expected: 'expected a positive duration' });
    assert.deepEqual(parseDuration(-2), { ok: false, expected: 'expected a positive duration' });
    assert.deepEqual(parseDuration('-1s', { allowZero: true }), {
      ok: false,
      expected: 'expected a non-negative duration',
    });
    assert.deepEqual(parseDuration('0s'), { ok: false, expected: 'expected a duration greater than zero' });
    assert.deepEqual(parseDuration('0s', { allowZero: true }), { ok: true, ms: 0 });
    assert.equal(parseDuration('600h').ok, false);
  });

  it('formats back to the short form', () => {
    assert.equal(formatDuration(90_000), '1m30s');
    assert.equal(formatDuration(1500), '1.5s');
    assert.equal(formatDuration(250), '250ms');
    assert.equal(formatDuration(3_600_000), '1h');
    assert.equal(formatDuration(0), '0s');
  });
});
