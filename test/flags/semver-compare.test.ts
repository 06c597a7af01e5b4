import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareSemver, parseSemver } from '../../src/flags/semver-compare.js';

function compare(a: string, b: string): number {
  const left = parseSemver(a);
  const right = parseSemver(b);
  assert.ok(left !== null && right !== null, `${a} and ${b} must parse`);
  return Math.sign(compareSemver(left, right));
}

describe('semver compare', () => {
  it('orders the example chain of semver.org §11.4', () => {
    const chain = [
      '1.0.0-alpha',
      '1.0.0-alpha.1',
      '1.0.0-alpha.beta',
      '1.0.0-beta',
      '1.0.0-beta.2',
      '1.0.0-beta.11',
      '1.0.0-rc.1',
      '1.0.0',
      '1.0.1',
      '1.1.0',
      '1.10.0',
      '2.0.0',
    ];
    for (let i = 0; i < chain.length; i++) {
      for (let j = 0; j < chain.length; j++)
        assert.equal(compare(chain[i]!, chain[j]!), Math.sign(i - j), `${chain[i]} vs ${chain[j]}`);
    }
  });

  it('ignores build metadata and compares huge numbers exactly', () => {
    assert.equal(compare('1.0.0+build.1', '1.0.0+build.2'), 0);
    assert.equal(compare('1.0.0-rc.1+a', '1.0.0-rc.1'), 0);
    assert.equal(compare('99999999999999999999.0.0', '99999999999999999998.0.0'), 1);
    assert.equal(compare('1.0.0-99999999999999999999', '1.0.0-99999999999999999998'), 1);
  });

  it('refuses what is not a strict semantic version', () => {
    for (const text of ['1.2', 'v1.2.3', '01.2.3', '1.2.3-01', '1.2.3-', '1.2.3+', ' 1.2.3', '1.2.3.4', '']) {
      assert.equal(parseSemver(text), null, text);
    }
    assert.deepEqual(parseSemver('1.2.3-rc.1+sha.5'), { major: '1', minor: '2', patch: '3', prerelease: ['rc', '1'] });
  });
});
