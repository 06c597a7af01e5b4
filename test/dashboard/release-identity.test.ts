import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  chartedReleases,
  releaseColors,
  releaseLabels,
  releaseLegend,
  releaseSeq,
  RELEASE_PALETTE,
} from '../../web/dashboard/release-identity.js';

// One color and one label per release on the whole card (issue 20, item 17): the traffic bar drew
// the active release green and the canary orange while the charts colored lines by the order the
// page saw them in, so v8 was orange in one place and purple in the other.
describe('release colors and labels of the dashboard', () => {
  it('gives a release the same color whatever it is shown with, and in any order', () => {
    const alone = releaseColors(['shop-8']);
    const asCanary = releaseColors(['shop-2', 'shop-8']);
    const reversed = releaseColors(['shop-8', 'shop-2']);
    const withStandby = releaseColors(['shop-8', 'shop-7', 'shop-2']);
    assert.equal(asCanary.get('shop-8'), alone.get('shop-8'), 'canary or active, v8 keeps its color');
    assert.deepEqual([...reversed].sort(), [...asCanary].sort(), 'the order seen does not matter');
    assert.equal(withStandby.get('shop-8'), alone.get('shop-8'));
    assert.notEqual(asCanary.get('shop-2'), asCanary.get('shop-8'), 'stable and canary differ');
  });

  it('never gives two releases shown together one color; the older keeps its own', () => {
    const n = RELEASE_PALETTE.length;
    const apart = releaseColors(['web-1', `web-${1 + n}`]);
    assert.equal(apart.get('web-1'), releaseColors(['web-1']).get('web-1'));
    assert.notEqual(apart.get('web-1'), apart.get(`web-${1 + n}`));
    const many = releaseColors(Array.from({ length: n }, (_, i) => `web-${i * n + 3}`));
    assert.equal(new Set(many.values()).size, n, 'as many releases as colors: all different');
  });

  it('reads the sequence number from the id, and hashes an id without one', () => {
    assert.equal(releaseSeq('shop-12'), 12);
    assert.equal(releaseSeq('my-api-3'), 3);
    assert.equal(releaseSeq('imported'), releaseSeq('imported'));
    assert.ok(
      RELEASE_PALETTE.includes(releaseColors(['imported']).get('imported') as (typeof RELEASE_PALETTE)[number]),
    );
  });

  it('labels by version only, with the sequence number only when two versions are equal', () => {
    assert.deepEqual(
      [
        ...releaseLabels([
          { releaseId: 'shop-2', version: 'v2' },
          { releaseId: 'shop-8', version: 'v8' },
        ]).values(),
      ],
      ['v2', 'v8'],
    );
    assert.deepEqual(
      [
        ...releaseLabels([
          { releaseId: 'shop-1', version: 'v1' },
          { releaseId: 'shop-3', version: 'v1' },
        ]).values(),
      ],
      ['v1 #1', 'v1 #3'],
    );
  });

  it('charts only the releases that run, in the order of the boxes', () => {
    const legend = releaseLegend([
      { releaseId: 'shop-8', version: 'v8' },
      null,
      { releaseId: 'shop-2', version: 'v2' },
    ]);
    assert.deepEqual(legend.order, ['shop-8', 'shop-2']);
    // shop-5 was an aborted canary: still in the last two minutes of points, but it no longer runs.
    assert.deepEqual(chartedReleases(['shop-2', 'shop-5', 'shop-8', 'shop-2'], legend), ['shop-8', 'shop-2']);
    assert.deepEqual(chartedReleases(['shop-2'], legend), ['shop-2'], 'a release without points has no line yet');
  });
});
