import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deployWaves } from '../../src/core/deploy-order.js';

describe('deploy order of --all', () => {
  it('non-critical services first together, then critical ones one at a time, in config order', () => {
    assert.deepEqual(
      deployWaves([
        { name: 'db-proxy', critical: true },
        { name: 'web', critical: false },
        { name: 'api', critical: true },
        { name: 'docs', critical: false },
      ]),
      [['web', 'docs'], ['db-proxy'], ['api']],
    );
    assert.deepEqual(deployWaves([{ name: 'a', critical: true }]), [['a']]);
    assert.deepEqual(deployWaves([]), []);
  });
});
