import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { redactUrl } from '../config/redact.js';
import { CutoverError } from '../core/errors.js';
import type { BackupRecord, BackupStore } from '../store/backup-store.js';
import { ensurePrivateDir, ensurePrivateFile } from '../store/private-files.js';
import { libpqEnvironment } from './libpq-environment.js';
import { backupsToRemove, type BackupKind } from '../core/backup-retention.js';

/**
 * Labelled backups with PostgreSQL's own tools: `pg_dump --format=custom`
 * into <state_dir>/backups/<service>/, a metadata record per dump, retention
 * (core/backup-retention.ts: automatic ones by count, manual ones by expiry), and `pg_restore --clean --if-exists --single-transaction` back
 * into the database. The URL (with its password) goes to the tools through
 * the environment, never on a command line that `ps` shows.
 */
const run = promisify(execFile);
const LABEL = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export interface BackupDeps {
  store: BackupStore;
  stateDir: string;
  /** Where pg_dump and pg_restore are; PATH when null. */
  binDir: string | null;
  now?: () => number;
}

export interface BackupRequest {
  service: string;
  url: string;
  label: string;
  releaseId: string | null;
  actor: string;
  /** Automatic dumps kept for the service; the oldest beyond it are deleted. Manual ones do not count. */
  keep: number;
  kind: BackupKind;
  /** Manual backups only: epoch ms after which retention removes it; null: never. */
  expiresAt: number | null;
}

export function checkLabel(label: string): void {
  if (!LABEL.test(label))
    throw new CutoverError(
      'BAD_REQUEST',
      `label: expected letters, digits, ".", "_" and "-" (at most 100), like pre-v2.0, got ${JSON.stringify(label)}`,
    );
}

export async function createBackup(
  deps: BackupDeps,
  request: BackupRequest,
): Promise<{ backup: BackupRecord; pruned: BackupRecord[] }> {
  checkLabel(request.label);
  if (deps.store.find(request.service, request.label)) {
    throw new CutoverError('BAD_REQUEST', `a backup labelled ${request.label} of ${request.service} already exists`, {
      hint: 'Choose another label, or delete the old backup.',
    });
  }
  const now = deps.now?.() ?? Date.now();
  const dir = path.join(deps.stateDir, 'backups', request.service);
  ensurePrivateDir(dir);
  const id = `bk-${now.toString(36)}-${randomBytes(3).toString('hex')}`;
  const file = path.join(dir, `${request.label}.dump`);
  const partial = `${file}.partial`;
  const env = pgEnv(request.url);
  try {
    // pg_dump keeps the mode of a file that exists: the dump is never readable by others, not even while it is written.
    ensurePrivateFile(partial);
    await run(tool(deps, 'pg_dump'), ['--format=custom', '--no-password', `--file=${partial}`], {
      env,
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (error) {
    fs.rmSync(partial, { force: true });
    throw toolError('pg_dump', request.url, error);
  }
  fs.chmodSync(partial, 0o600);
  fs.renameSync(partial, file);
  const backup: BackupRecord = {
    id,
    service: request.service,
    label: request.label,
    database: databaseName(request.url),
    file,
    sizeBytes: fs.statSync(file).size,
    releaseId: request.releaseId,
    createdBy: request.actor,
    createdAt: now,
    kind: request.kind,
    expiresAt: request.kind === 'manual' ? request.expiresAt : null,
  };
  deps.store.add(backup);
  const pruned = backupsToRemove(deps.store.list(request.service), request.keep, now);
  for (const old of pruned) {
    fs.rmSync(old.file, { force: true });
    deps.store.remove(old.id);
  }
  return { backup, pruned };
}

/** Replaces the database's objects with the backup's, in one transaction: a failed restore changes nothing. */
export async function restoreBackup(
  deps: BackupDeps,
  service: string,
  url: string,
  labelOrId: string,
): Promise<BackupRecord> {
  const backup = deps.store.find(service, labelOrId);
  if (!backup) throw new CutoverError('BACKUP_NOT_FOUND', `no backup "${labelOrId}" of ${service}`);
  if (!fs.existsSync(backup.file))
    throw new CutoverError('BACKUP_NOT_FOUND', `the dump of backup ${backup.label} is missing: ${backup.file}`);
  const env = pgEnv(url);
  try {
    await run(
      tool(deps, 'pg_restore'),
      [
        '--clean',
        '--if-exists',
        '--no-owner',
        '--single-transaction',
        '--exit-on-error',
        '--no-password',
        `--dbname=${databaseName(url)}`,
        backup.file,
      ],
      { env, maxBuffer: 16 * 1024 * 1024 },
    );
  } catch (error) {
    throw toolError('pg_restore', url, error);
  }
  return backup;
}

function tool(deps: BackupDeps, name: string): string {
  return deps.binDir ? path.join(deps.binDir, name) : name;
}

/** The tools find their connection in libpq's PG* variables (libpq-environment.ts), never on the command line. */
function pgEnv(url: string): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', ...libpqEnvironment(url) };
}

export function databaseName(url: string): string {
  return decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
}

function toolError(name: string, url: string, error: unknown): CutoverError {
  const failure = error as { code?: string | number; stderr?: string; message: string };
  if (failure.code === 'ENOENT')
    return new CutoverError(
      'BACKUP_FAILED',
      `${name} is not installed (apt-get install postgresql-client, or set PG_BIN)`,
    );
  const detail = (failure.stderr ?? failure.message).trim().split('\n').slice(-5).join('; ');
  return new CutoverError('BACKUP_FAILED', `${name} failed for ${redactUrl(url)}: ${detail}`);
}
