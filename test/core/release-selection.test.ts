import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  findRelease,
  idleSlot,
  newerServedReleases,
  previousRelease,
  releasesToPrune,
} from '../../src/core/release-selection.js';
import type { ReleaseRecord, ReleaseState } from '../../src/store/records.js';

function release(seq: number, state: ReleaseState, activatedAt: number | null, version = `v${seq}`): ReleaseRecord {
  return {
    id: `web-${seq}`,
    service: 'web',
    seq,
    version,
    slot: seq % 2 ? 'blue' : 'green',
    state,
    config: {},
    configHash: 'h',
    gitCommit: null,
    gitBranch: null,
    createdBy: 't',
    createdAt: seq,
    activatedAt,
    scaleDownAt: null,
    error: null,
  };
}

describe('release selection', () => {
  it('deploys to the slot the active release is not in', () => {
    assert.equal(idleSlot(null), 'blue');
    assert.equal(idleSlot(release(1, 'active', 1)), 'green');
    assert.equal(idleSlot(release(2, 'active', 2)), 'blue');
  });

  it('rolls back to the most recently activated kept release, skipping failed ones', () => {
    const releases = [
      release(4, 'failed', null),
      release(3, 'active', 30),
      release(2, 'stopped', 20),
      release(1, 'stopped', 10),
    ];
    assert.equal(previousRelease(releases, releases[1]!)?.id, 'web-2');
    const only = release(1, 'active', 1);
    assert.equal(previousRelease([only], only), null);
  });

  it('never goes forward: after a switch back to an older release, the newer one is not a rollback target', () => {
    // web-2 was active, then `switch` (or a rollback) made web-1 active again at 40: web-2 is newer, not "previous".
    const releases = [release(2, 'standby', 20), release(1, 'active', 40), release(0, 'stopped', 5)];
    assert.equal(previousRelease(releases, releases[1]!)?.id, 'web-0');
    assert.equal(previousRelease(releases.slice(0, 2), releases[1]!), null);
    assert.deepEqual(
      newerServedReleases(releases, releases[1]!).map((r) => r.id),
      ['web-2'],
    );
  });

  it('returns to the release that served before the current one, not to an older one rolled back from', () => {
    // web-1 served, web-2 was rolled back (web-1 active again at 25), then web-3 was deployed from web-1.
    const releases = [release(3, 'active', 30), release(2, 'stopped', 20), release(1, 'stopped', 25)];
    assert.equal(previousRelease(releases, releases[0]!)?.id, 'web-1');
  });

  it('with nothing active, returns to the release that served last', () => {
    const releases = [release(2, 'stopped', 20), release(1, 'stopped', 25)];
    assert.equal(previousRelease(releases, null)?.id, 'web-1');
  });

  it('finds a release by id, number or version', () => {
    const releases = [release(3, 'active', 3, 'v2'), release(2, 'failed', null, 'v2'), release(1, 'stopped', 1, 'v1')];
    assert.equal(findRelease(releases, 'web-1')?.id, 'web-1');
    assert.equal(findRelease(releases, '1')?.id, 'web-1');
    assert.equal(findRelease(releases, 'v2')?.id, 'web-3');
    assert.equal(findRelease(releases, 'v9'), null);
  });

  it('prunes stopped releases beyond the rollback limit, never active or standby ones', () => {
    const releases = [
      release(7, 'active', 70),
      release(6, 'standby', 60),
      release(5, 'stopped', 50),
      release(4, 'failed', null),
      release(3, 'stopped', 30),
      release(2, 'stopped', 20),
      release(1, 'pruned', 10),
    ];
    assert.deepEqual(
      releasesToPrune(releases, 3).map((r) => r.id),
      ['web-3', 'web-2'],
    );
    assert.deepEqual(releasesToPrune(releases, 5), []);
    assert.deepEqual(
      releasesToPrune(releases, 1).map((r) => r.id),
      ['web-5', 'web-3', 'web-2'],
    );
  });
});
