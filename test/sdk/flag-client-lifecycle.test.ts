import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CutoverError } from '../../src/core/errors.js';
import { findFreePort } from '../../src/runtime/process/free-port.js';
import { FlagClient } from '../../src/sdk/flags/index.js';
import { eventually } from '../support/eventually.js';

/**
 * The client's life cycle without a server to talk to: ready() fails only
 * when there is neither a server nor a cache, close() leaves no timer or
 * socket behind, and options that cannot work are refused at construction.
 * No server runs in this file, so the process's handles are the client's own.
 */

const isCode =
  (code: string) =>
  (error: unknown): boolean =>
    error instanceof CutoverError && error.code === code;

describe('FlagClient life cycle', () => {
  it('rejects ready() with SERVER_UNREACHABLE when there is neither a server nor a cache', async () => {
    const nowhere = new FlagClient({ url: `http://127.0.0.1:${await findFreePort()}`, readyTimeoutMs: 300 });
    const errors: CutoverError[] = [];
    nowhere.on('error', (error) => errors.push(error));
    // Closed whatever happens: a client left running keeps the test file from ever ending.
    try {
      await assert.rejects(nowhere.ready(), isCode('SERVER_UNREACHABLE'));
      // On a loaded machine the first refused attempt may be reported just after ready() gave up.
      await eventually(() => errors.length >= 1, 'a failed attempt is reported as an error event', 5000);
      assert.ok(
        errors.every((error) => error.code === 'SERVER_UNREACHABLE'),
        'each failed attempt is an error event',
      );
      assert.equal(nowhere.evaluate('anything').errorCode, 'FLAG_NOT_FOUND');
      assert.equal(nowhere.isEnabled('anything'), false);
      assert.equal(nowhere.getValue('anything', 'fallback'), 'fallback');
    } finally {
      await nowhere.close();
    }
  });

  it('leaves no timer or socket running after close()', async () => {
    const before = activeHandles();
    const client = new FlagClient({
      url: `http://127.0.0.1:${await findFreePort()}`,
      readyTimeoutMs: 200,
      reportIntervalMs: 20,
      reconnect: { initialDelayMs: 10, maxDelayMs: 20 },
    });
    await assert.rejects(client.ready());
    await new Promise((resolve) => setTimeout(resolve, 100)); // several reconnect attempts and report ticks
    await client.close();
    assert.equal(client.state, 'closed');
    // A socket being torn down may take a few turns of the loop on a busy
    // machine; a leaked timer or socket never goes, so a bounded wait still fails it.
    let after = activeHandles();
    for (let i = 0; i < 100 && JSON.stringify(after) !== JSON.stringify(before); i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      after = activeHandles();
    }
    assert.deepEqual(after, before);
  });

  it('rejects ready() with INVALID_STATE when closed first', async () => {
    const client = new FlagClient({ url: `http://127.0.0.1:${await findFreePort()}` });
    await client.close();
    await assert.rejects(client.ready(), isCode('INVALID_STATE'));
  });

  it('refuses options it cannot use with CONFIG_INVALID', () => {
    assert.throws(() => new FlagClient({ url: 'localhost:7070' }), isCode('CONFIG_INVALID'));
    assert.throws(() => new FlagClient({ url: 'ftp://127.0.0.1:7070' }), isCode('CONFIG_INVALID'));
    assert.throws(() => new FlagClient({ url: 'http://127.0.0.1:1', reportIntervalMs: -1 }), /reportIntervalMs/);
  });
});

/** Timers and sockets keeping the process alive, by kind. */
function activeHandles(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}
