import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { findFreePort } from '../../src/runtime/process/free-port.js';

/**
 * A real PostgreSQL server for the migration tests: a throwaway cluster
 * (initdb, trust authentication on loopback) on a free port, started by the
 * test and removed by stop(). initdb refuses to run as root, so as root the
 * server runs as the `postgres` user (the Debian package creates it); its
 * binaries come from PG_BIN or the newest /usr/lib/postgresql/<n>/bin.
 * Durability is off (fsync, synchronous_commit): a test cluster is thrown away.
 */
export interface PostgresServer {
  port: number;
  /** Connection URL of a database (default `postgres`), user `postgres`. */
  url(database?: string): string;
  /** PG_BIN: where pg_dump and pg_restore are. */
  binDir: string;
  createDatabase(name: string): Promise<string>;
  query<T extends pg.QueryResultRow = pg.QueryResultRow>(
    database: string,
    sql: string,
    values?: unknown[],
  ): Promise<T[]>;
  stop(): Promise<void>;
}

export function postgresBinDir(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => /^\d+$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  assert.ok(versions.length > 0, 'PostgreSQL is not installed: apt-get install -y postgresql (or set PG_BIN)');
  return join(root, versions[0]!, 'bin');
}

export interface PostgresOptions {
  /** Runs before the server starts, with the cluster's directory (owned by the server's user), e.g. to write TLS files. */
  prepare?: (dir: string, chownToServer: (file: string) => void) => void;
  /** More `-c name=value` settings, e.g. ssl=on. */
  settings?: string[];
}

export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresServer> {
  const binDir = postgresBinDir();
  const dir = mkdtempSync(join(tmpdir(), 'cutover-pg-'));
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? Number(execFileSync('id', ['-u', 'postgres']).toString().trim()) : null;
  const ownerGroup = asRoot ? Number(execFileSync('id', ['-g', 'postgres']).toString().trim()) : null;
  if (owner !== null && ownerGroup !== null) {
    chownSync(dir, owner, ownerGroup);
    chmodSync(dir, 0o700);
  }
  // As root, spawn's uid/gid run PostgreSQL as `postgres` directly (no su in between to forward signals).
  const as = owner !== null && ownerGroup !== null ? { uid: owner, gid: ownerGroup } : {};

  const data = join(dir, 'data');
  execFileSync(
    join(binDir, 'initdb'),
    ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C'],
    { stdio: 'pipe', cwd: dir, ...as },
  );

  options.prepare?.(dir, (file) => {
    if (owner !== null && ownerGroup !== null) chownSync(file, owner, ownerGroup);
  });
  const port = await findFreePort();
  const child: ChildProcess = spawn(
    join(binDir, 'postgres'),
    [
      '-D',
      data,
      '-p',
      String(port),
      '-k',
      dir,
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'max_connections=50',
      ...(options.settings ?? []).flatMap((setting) => ['-c', setting]),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir, ...as },
  );
  let output = '';
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);

  const url = (database = 'postgres'): string => `postgres://postgres@127.0.0.1:${port}/${database}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const client = new pg.Client({ connectionString: url() });
    try {
      await client.connect();
      await client.end();
      break;
    } catch {
      await client.end().catch(() => {});
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill('SIGKILL');
        rmSync(dir, { recursive: true, force: true });
        throw new Error(`PostgreSQL did not start: ${output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  const query = async <T extends pg.QueryResultRow>(
    database: string,
    sql: string,
    values?: unknown[],
  ): Promise<T[]> => {
    const client = new pg.Client({ connectionString: url(database) });
    await client.connect();
    try {
      return (await client.query<T>(sql, values)).rows;
    } finally {
      await client.end();
    }
  };

  let stopping: Promise<void> | null = null;
  return {
    port,
    url,
    binDir,
    async createDatabase(name) {
      await query('postgres', `CREATE DATABASE "${name.replace(/"/g, '""')}"`);
      return url(name);
    },
    query,
    stop() {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          const exited = once(child, 'exit');
          // SIGINT: PostgreSQL's fast shutdown (ends sessions, no wait for clients).
          child.kill('SIGINT');
          const timer = setTimeout(() => {
            child.kill('SIGKILL');
          }, 10_000);
          await exited;
          clearTimeout(timer);
        }
        rmSync(dir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}
