import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { backupsToRemove, parseBackupExpiry } from '../../src/core/backup-retention.js';
import { createBackup, type BackupRequest } from '../../src/migrate/pg-backup.js';
import { BackupStore } from '../../src/store/backup-store.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { startPostgres, type PostgresServer } from '../support/postgres-server.js';

// Finding 17 of issue 12: manual labelled backups counted against the
// automatic retention (`database.backup.keep`) and were deleted silently by
// the next deploys' pre-<version> backups. Now the automatic ones are trimmed
// to `keep` among themselves, and a manual one stays until it is deleted or
// its own --expires has passed.
describe('manual backups deleted by the automatic retention', () => {
  let pg: PostgresServer;
  let stateDir: string;
  let url: string;
  let clock = Date.UTC(2026, 0, 1);
  let store: BackupStore;
  const DAY = 86_400_000;

  before(async () => {
    pg = await startPostgres();
    url = await pg.createDatabase('shop');
    await pg.query('shop', 'CREATE TABLE orders (id int PRIMARY KEY); INSERT INTO orders VALUES (1)');
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-retention-'));
    store = new BackupStore(SqliteStore.memory().connection);
  });
  after(async () => {
    await pg?.stop();
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  const backup = (
    label: string,
    kind: BackupRequest['kind'],
    expiresAt: number | null = null,
  ): ReturnType<typeof createBackup> => {
    clock += 60_000;
    return createBackup(
      { store, stateDir, binDir: pg.binDir, now: () => clock },
      { service: 'shop', url, label, releaseId: null, actor: 'test', keep: 2, kind, expiresAt },
    );
  };
  const labels = (): string[] =>
    store
      .list('shop')
      .map((b) => b.label)
      .sort();

  it('manual backups stay while the automatic ones are trimmed to keep; an expired manual one is removed', async () => {
    const kept = (await backup('before-cleanup', 'manual')).backup;
    const shortLived = (await backup('try-out', 'manual', clock + 2 * DAY)).backup;
    for (const version of ['v1', 'v2', 'v3', 'v4']) await backup(`pre-${version}`, 'automatic');

    assert.deepEqual(
      labels(),
      ['before-cleanup', 'pre-v3', 'pre-v4', 'try-out'],
      'two automatic (keep: 2) and both manual ones',
    );
    assert.ok(fs.existsSync(kept.file) && fs.existsSync(shortLived.file), 'the manual dumps are on disk');
    assert.ok(
      !fs.existsSync(path.join(stateDir, 'backups', 'shop', 'pre-v1.dump')),
      'a trimmed automatic dump is deleted from disk',
    );
    assert.deepEqual(
      store
        .list('shop')
        .map((b) => [b.label, b.kind, b.expiresAt])
        .sort(),
      [
        ['before-cleanup', 'manual', null],
        ['pre-v3', 'automatic', null],
        ['pre-v4', 'automatic', null],
        ['try-out', 'manual', shortLived.expiresAt],
      ],
    );

    clock += 3 * DAY;
    const { pruned } = await backup('pre-v5', 'automatic');
    assert.deepEqual(
      pruned.map((b) => b.label).sort(),
      ['pre-v3', 'try-out'],
      'the oldest automatic one and the expired manual one',
    );
    assert.deepEqual(labels(), ['before-cleanup', 'pre-v4', 'pre-v5']);
    assert.ok(!fs.existsSync(shortLived.file), 'the expired dump is deleted from disk');
    assert.ok(fs.existsSync(kept.file), 'a manual backup without --expires is never removed by retention');
  });

  it('retention and --expires as pure rules', () => {
    const list = [
      { id: 'a5', kind: 'automatic' as const, expiresAt: null, createdAt: 5 },
      { id: 'm4', kind: 'manual' as const, expiresAt: 100, createdAt: 4 },
      { id: 'a3', kind: 'automatic' as const, expiresAt: null, createdAt: 3 },
      { id: 'm2', kind: 'manual' as const, expiresAt: null, createdAt: 2 },
      { id: 'a1', kind: 'automatic' as const, expiresAt: null, createdAt: 1 },
    ];
    assert.deepEqual(
      backupsToRemove(list, 2, 99).map((b) => b.id),
      ['a1'],
    );
    assert.deepEqual(
      backupsToRemove(list, 2, 100).map((b) => b.id),
      ['a1', 'm4'],
    );
    assert.deepEqual(
      backupsToRemove(list, 0, 0).map((b) => b.id),
      ['a5', 'a3', 'a1'],
    );
    assert.equal(parseBackupExpiry('30d'), 30 * DAY);
    assert.equal(parseBackupExpiry('12h'), 12 * 3_600_000);
    assert.equal(parseBackupExpiry('2w'), 14 * DAY);
    for (const bad of ['0d', '30', '1y', '-1d', 'soon']) assert.equal(parseBackupExpiry(bad), null, bad);
  });
});
