import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EventLog } from '../../src/controller/event-log.js';
import { isCutoverError } from '../../src/core/errors.js';
import { createFakeFlagFeature } from '../../src/flags/flag-feature.js';
import type { FlagChange } from '../../src/flags/flag-service.js';

/**
 * The flag feature built fake (in-memory store, no server, no SQLite): the
 * service's rules hold over the fake store as they do over SQLite, so flag
 * logic can be tested in milliseconds. The server's build is covered
 * end to end by flag-api.test.ts.
 */
function build(now: () => number) {
  // No rollout is started here; an event would mean the runner did something unasked.
  const events = {
    record: () => {
      throw new Error('unexpected event');
    },
  } as unknown as EventLog;
  return createFakeFlagFeature({
    environments: ['production', 'staging'],
    events,
    templates: () => ({}),
    now,
    providerFor: () => {
      throw new Error('no provider in this test');
    },
    activeReleaseOf: () => null,
  });
}

describe('the flag feature built over the in-memory store', () => {
  it('creates, evaluates, refuses a stale write without a trace, patches and deletes', async () => {
    let clock = 1_000;
    const { service, rollouts, store } = build(() => clock);
    const changes: FlagChange[] = [];
    service.subscribe((change) => changes.push(change));

    const created = service.create(
      'production',
      {
        key: 'checkout',
        enabled: true,
        variants: { on: true, off: false },
        defaultVariant: 'on',
        offVariant: 'off',
      },
      { actor: 'ana' },
    );
    assert.equal(created.version, 1);
    assert.equal(service.evaluate('production', 'checkout', { userId: 'u1' }).value, true);
    assert.throws(
      () => service.evaluate('staging', 'checkout', {}),
      (error: unknown) => isCutoverError(error) && error.code === 'FLAG_NOT_FOUND',
    );

    clock = 2_000;
    assert.throws(
      () => service.patch('production', 'checkout', { enabled: false }, { actor: 'bo', ifVersion: 7 }),
      (error: unknown) => isCutoverError(error) && error.code === 'FLAG_CONFLICT',
    );
    assert.equal(store.revision('production'), 1, 'a refused write bumps no revision');
    assert.equal(service.history('production', 'checkout', 10).length, 1, 'and writes no audit entry');

    service.patch('production', 'checkout', { enabled: false }, { actor: 'bo', reason: 'kill switch', ifVersion: 1 });
    assert.equal(service.evaluate('production', 'checkout', { userId: 'u1' }).value, false);
    const history = service.history('production', 'checkout', 10);
    assert.deepEqual(
      history.map((entry) => [entry.action, entry.actor, entry.at, entry.version]),
      [
        ['update', 'bo', 2_000, 2],
        ['create', 'ana', 1_000, 1],
      ],
    );
    assert.equal(history[0]!.reason, 'kill switch');

    assert.deepEqual(service.remove('production', 'checkout', { actor: 'ana' }), { deleted: 'checkout', version: 2 });
    assert.equal(service.find('production', 'checkout'), null);
    assert.deepEqual(
      changes.map((change) => change.revision),
      [1, 2, 3],
    );
    await rollouts.close();
  });
});
