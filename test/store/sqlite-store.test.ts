import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { CutoverError } from '../../src/core/errors.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';

const newRelease = {
  service: 'web',
  version: 'v1',
  slot: 'blue' as const,
  config: { env: { A: '[redacted]' } },
  configHash: 'abc',
  gitCommit: null,
  gitBranch: null,
  createdBy: 'me',
};

describe('sqlite store', () => {
  it('persists releases, the active release and events across a reopen (WAL file on disk)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-store-'));
    try {
      const store = SqliteStore.open(dir);
      const r1 = store.createRelease(newRelease, 1000);
      const r2 = store.createRelease({ ...newRelease, version: 'v2', slot: 'green' }, 2000);
      assert.deepEqual([r1.id, r2.id], ['web-1', 'web-2']);
      store.setActiveRelease('web', r2.id, 3000);
      store.appendEvent({
        operationId: 'op-1',
        service: 'web',
        releaseId: r2.id,
        at: 3000,
        type: 'traffic.switched',
        message: 'x',
        data: { a: 1 },
      });
      store.close();
      const again = SqliteStore.open(dir);
      assert.equal(again.getService('web').activeReleaseId, 'web-2');
      assert.deepEqual(
        again.listReleases('web').map((r) => r.version),
        ['v2', 'v1'],
      );
      assert.deepEqual(
        again.eventsOf('op-1').map((e) => e.data),
        [{ a: 1 }],
      );
      assert.equal((again.getRelease('web-1')!.config as { env: { A: string } }).env.A, '[redacted]');
      assert.equal(again.integrityCheck(), 'ok');
      again.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the deploy lock refuses a second holder and names the first', () => {
    const store = SqliteStore.memory();
    store.acquireLock('web', 'op-a', 'alice@laptop', Date.parse('2026-01-01T10:00:00Z'));
    assert.throws(
      () => store.acquireLock('web', 'op-b', 'bob@ci', Date.now()),
      (error: unknown) => {
        assert.ok(error instanceof CutoverError);
        assert.equal(error.code, 'DEPLOY_LOCKED');
        assert.match(error.message, /alice@laptop/);
        assert.match(error.message, /op-a/);
        assert.match(error.message, /2026-01-01T10:00:00/);
        return true;
      },
    );
    // Another service is not affected; releasing with the wrong operation id does nothing.
    store.acquireLock('api', 'op-c', 'bob@ci', Date.now());
    store.releaseLock('web', 'op-b');
    assert.equal(store.getLock('web')?.holder, 'alice@laptop');
    store.releaseLock('web', 'op-a');
    assert.equal(store.getLock('web'), null);
    store.close();
  });

  it('finishes an operation once', () => {
    const store = SqliteStore.memory();
    store.createOperation({
      id: 'op-1',
      service: 'web',
      kind: 'deploy',
      releaseId: 'web-1',
      fromReleaseId: null,
      actor: 'me',
      phase: 'starting',
      state: { phase: 'starting' },
      startedAt: 1,
    });
    assert.deepEqual(
      store.unfinishedOperations().map((o) => o.id),
      ['op-1'],
    );
    store.finishOperation('op-1', 'failed', { code: 'HEALTH_TIMEOUT', message: 'm' }, 5);
    store.finishOperation('op-1', 'succeeded', null, 6);
    const op = store.getOperation('op-1')!;
    assert.equal(op.outcome, 'failed');
    assert.equal(op.finishedAt, 5);
    assert.deepEqual(store.unfinishedOperations(), []);
    store.close();
  });
});
