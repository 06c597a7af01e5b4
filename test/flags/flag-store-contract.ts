import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Flag } from '../../src/flags/flag-model.js';
import type { FlagStore } from '../../src/flags/flag-store.js';

/**
 * What every flag store promises (src/flags/flag-store.ts), run against the
 * SQLite store and the in-memory fake (flag-store.test.ts): the fake is only
 * worth building a feature on if it answers as the real one does.
 */
export interface FlagStoreContractOptions {
  name: string;
  /** A fresh, empty store for each case. */
  setup: () => FlagStore;
}

function flag(key: string, variants: Record<string, boolean> = { on: true, off: false }): Flag {
  return {
    key,
    description: '',
    enabled: true,
    variants,
    defaultVariant: 'off',
    offVariant: 'off',
    rules: [],
    rollout: null,
  };
}

export function flagStoreContract({ name, setup }: FlagStoreContractOptions): void {
  describe(`flag store contract: ${name}`, () => {
    it('counts revisions per environment, from 0', () => {
      const store = setup();
      assert.equal(store.revision('production'), 0);
      assert.equal(store.bumpRevision('production'), 1);
      assert.equal(store.bumpRevision('production'), 2);
      assert.equal(store.revision('production'), 2);
      assert.equal(store.revision('staging'), 0);
    });

    it('puts, replaces, lists by key and deletes flags per environment', () => {
      const store = setup();
      store.put('production', flag('zeta'), 1, 'ana', 1000);
      store.put('production', flag('alpha'), 1, 'ana', 1001);
      store.put('staging', flag('alpha'), 1, 'bo', 1002);
      store.put('production', { ...flag('zeta'), enabled: false }, 2, 'bo', 1003);
      assert.deepEqual(
        store.list('production').map((s) => [s.flag.key, s.version]),
        [
          ['alpha', 1],
          ['zeta', 2],
        ],
      );
      assert.deepEqual(store.get('production', 'zeta'), {
        environment: 'production',
        flag: { ...flag('zeta'), enabled: false },
        version: 2,
        updatedAt: 1003,
        updatedBy: 'bo',
      });
      store.delete('production', 'zeta');
      assert.equal(store.get('production', 'zeta'), null);
      assert.equal(store.get('staging', 'alpha')?.updatedBy, 'bo');
    });

    it('hands out copies: changing a returned flag does not change the store', () => {
      const store = setup();
      store.put('production', flag('checkout'), 1, 'ana', 1000);
      const got = store.get('production', 'checkout')!;
      got.flag.enabled = false;
      assert.equal(store.get('production', 'checkout')!.flag.enabled, true);
    });

    it('undoes every write of a transaction that throws', () => {
      const store = setup();
      store.put('production', flag('kept'), 1, 'ana', 1000);
      assert.throws(
        () =>
          store.transaction(() => {
            store.put('production', flag('lost'), 1, 'ana', 1001);
            store.delete('production', 'kept');
            store.bumpRevision('production');
            throw new Error('boom');
          }),
        /boom/,
      );
      assert.deepEqual(
        store.list('production').map((s) => s.flag.key),
        ['kept'],
      );
      assert.equal(store.revision('production'), 0);
      assert.equal(
        store.transaction(() => store.bumpRevision('production')),
        1,
      );
    });

    it('keeps the audit log newest first, per flag and per environment, within the limit', () => {
      const store = setup();
      for (const [key, version] of [
        ['a', 1],
        ['b', 1],
        ['a', 2],
      ] as const) {
        store.appendAudit({
          environment: 'production',
          key,
          action: version === 1 ? 'create' : 'update',
          actor: 'ana',
          at: 1000 + version,
          reason: null,
          before: version === 1 ? null : flag(key),
          after: flag(key),
          version,
        });
      }
      store.appendAudit({
        environment: 'staging',
        key: 'a',
        action: 'delete',
        actor: 'bo',
        at: 2000,
        reason: 'gone',
        before: flag('a'),
        after: null,
        version: 1,
      });
      const history = store.history('production', 'a', 10);
      assert.deepEqual(
        history.map((e) => [e.action, e.version]),
        [
          ['update', 2],
          ['create', 1],
        ],
      );
      assert.ok(history[0]!.seq > history[1]!.seq);
      assert.deepEqual(history[1]!.before, null);
      assert.deepEqual(
        store.recentChanges('production', 2).map((e) => [e.key, e.version]),
        [
          ['a', 2],
          ['b', 1],
        ],
      );
      assert.deepEqual(
        store.recentChanges('staging', 10).map((e) => [e.action, e.reason]),
        [['delete', 'gone']],
      );
    });

    it('stores segments by name and says whether a delete found one', () => {
      const store = setup();
      store.putSegment('production', 'staff', [
        { operator: 'ends_with', attribute: 'email', value: '@example.com', inverted: false },
      ]);
      store.putSegment('production', 'beta', [{ operator: 'in', attribute: 'plan', values: ['pro'], inverted: false }]);
      store.putSegment('production', 'beta', [{ operator: 'in', attribute: 'plan', values: ['team'], inverted: true }]);
      assert.deepEqual(Object.keys(store.segments('production')), ['beta', 'staff']);
      assert.deepEqual(store.segments('production').beta, [
        { operator: 'in', attribute: 'plan', values: ['team'], inverted: true },
      ]);
      assert.deepEqual(store.segments('staging'), {});
      assert.equal(store.deleteSegment('production', 'staff'), true);
      assert.equal(store.deleteSegment('production', 'staff'), false);
    });

    it('adds evaluation counts, refuses new series over the cap, prunes gone variants but not errors', () => {
      const store = setup();
      assert.equal(
        store.addEvaluations(
          'production',
          [
            { flag: 'a', variant: 'on', count: 3 },
            { flag: 'a', variant: null, count: 1 },
          ],
          1000,
          3,
        ),
        0,
      );
      // The cap is on all series together: one more fits, the next is refused, an existing one still counts.
      const refused = store.addEvaluations(
        'staging',
        [
          { flag: 'a', variant: 'off', count: 2 },
          { flag: 'b', variant: 'on', count: 1 },
        ],
        1001,
        3,
      );
      assert.equal(refused, 1);
      assert.equal(store.addEvaluations('production', [{ flag: 'a', variant: 'on', count: 4 }], 1002, 3), 0);
      assert.deepEqual(store.evaluations('production', 'a'), [
        { variant: 'on', count: 7, lastSeenAt: 1002 },
        { variant: null, count: 1, lastSeenAt: 1000 },
      ]);
      assert.equal(store.allEvaluations().length, 3);
      // The last evaluation of a flag is its newest series; a flag never evaluated is absent.
      assert.deepEqual([...store.lastEvaluations('production')], [['a', 1002]]);
      assert.deepEqual([...store.lastEvaluations('staging')], [['a', 1001]]);
      store.pruneEvaluations('production', 'a', ['off']);
      assert.deepEqual(store.evaluations('production', 'a'), [{ variant: null, count: 1, lastSeenAt: 1000 }]);
      store.put('staging', flag('a'), 1, 'ana', 1003);
      store.delete('staging', 'a');
      assert.deepEqual(store.evaluations('staging', 'a'), []);
    });

    it('persists rollouts and finds them by phase (oldest first) and by flag (newest first)', () => {
      const store = setup();
      store.createRollout({
        id: 'r1',
        environment: 'production',
        key: 'a',
        phase: 'running',
        state: { step: 0 },
        startedAt: 1000,
        finishedAt: null,
      });
      store.createRollout({
        id: 'r2',
        environment: 'production',
        key: 'a',
        phase: 'running',
        state: { step: 0 },
        startedAt: 2000,
        finishedAt: null,
      });
      store.createRollout({
        id: 'r3',
        environment: 'production',
        key: 'b',
        phase: 'running',
        state: { step: 0 },
        startedAt: 1500,
        finishedAt: null,
      });
      store.updateRollout('r1', 'failed', { step: 1 }, 3000);
      assert.deepEqual(store.getRollout('r1'), {
        id: 'r1',
        environment: 'production',
        key: 'a',
        phase: 'failed',
        state: { step: 1 },
        startedAt: 1000,
        finishedAt: 3000,
      });
      assert.equal(store.getRollout('nope'), null);
      assert.deepEqual(
        store.rolloutsInPhase('running').map((r) => r.id),
        ['r3', 'r2'],
      );
      assert.deepEqual(
        store.rolloutsOf('production', 'a', 10).map((r) => r.id),
        ['r2', 'r1'],
      );
      assert.deepEqual(
        store.rolloutsOf('production', 'a', 1).map((r) => r.id),
        ['r2'],
      );
    });
  });
}
