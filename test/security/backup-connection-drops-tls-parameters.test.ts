import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CutoverError } from '../../src/core/errors.js';
import { libpqEnvironment } from '../../src/migrate/libpq-environment.js';
import { createBackup } from '../../src/migrate/pg-backup.js';
import { BackupStore } from '../../src/store/backup-store.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { startPostgres, type PostgresServer } from '../support/postgres-server.js';

// Finding 13c of issue 12: pg_dump and pg_restore got only sslmode from the
// database URL; sslrootcert, sslcert and sslkey were dropped, so a backup of
// a database reached with `sslmode=verify-full&sslrootcert=...` looked for
// ~/.postgresql/root.crt (and failed), and a client certificate never reached
// the server. The parameters now reach the tools as libpq's PG* variables
// (never on a command line), and a real pg_dump verifies the server's
// certificate against the URL's root certificate.
describe('backup connection drops the TLS parameters of the database URL', () => {
  it('every libpq parameter of the URL reaches the tools as its PG* variable', () => {
    const env = libpqEnvironment(
      'postgres://app:p%40ss@db.internal:6543/shop?sslmode=verify-full&sslrootcert=/etc/ca.pem&sslcert=/etc/client.crt&sslkey=/etc/client.key' +
        '&sslcrl=/etc/crl.pem&application_name=cutover-backup&connect_timeout=3&options=-c%20statement_timeout%3D0&target_session_attrs=read-write&channel_binding=require',
    );
    assert.deepEqual(env, {
      PGHOST: 'db.internal',
      PGPORT: '6543',
      PGDATABASE: 'shop',
      PGUSER: 'app',
      PGPASSWORD: 'p@ss',
      PGSSLMODE: 'verify-full',
      PGSSLROOTCERT: '/etc/ca.pem',
      PGSSLCERT: '/etc/client.crt',
      PGSSLKEY: '/etc/client.key',
      PGSSLCRL: '/etc/crl.pem',
      PGAPPNAME: 'cutover-backup',
      PGCONNECT_TIMEOUT: '3',
      PGOPTIONS: '-c statement_timeout=0',
      PGTARGETSESSIONATTRS: 'read-write',
      PGCHANNELBINDING: 'require',
    });
    assert.equal(
      libpqEnvironment('postgres://u@localhost/db?host=/var/run/postgresql').PGHOST,
      '/var/run/postgresql',
      'a socket directory given as ?host=',
    );
    assert.equal(
      libpqEnvironment('postgres://u@localhost/db?ssl=true').PGSSLMODE,
      'require',
      "node-postgres's ssl=true",
    );
  });

  it('a parameter that cannot be passed without a command line is refused by name, with the password redacted', () => {
    assert.throws(
      () => libpqEnvironment('postgres://app:secret@db/shop?sslmode=verify-full&sslpassword=hunter2'),
      (error: unknown) => {
        assert.ok(error instanceof CutoverError);
        assert.equal(error.code, 'BACKUP_FAILED');
        assert.match(error.message, /cannot be given safely: sslpassword/);
        assert.doesNotMatch(error.message, /secret|hunter2/);
        return true;
      },
    );
  });

  describe('a real pg_dump against PostgreSQL with TLS', () => {
    let pg: PostgresServer;
    let work: string;
    let rootCert: string;
    let otherRootCert: string;
    const selfSigned = (dir: string, name: string): { cert: string; key: string } => {
      const cert = path.join(dir, `${name}.crt`);
      const key = path.join(dir, `${name}.key`);
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-days',
          '2',
          '-subj',
          '/CN=127.0.0.1',
          '-addext',
          'subjectAltName=IP:127.0.0.1',
          '-keyout',
          key,
          '-out',
          cert,
        ],
        { stdio: 'pipe' },
      );
      return { cert, key };
    };

    before(async () => {
      work = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-pg-tls-'));
      otherRootCert = selfSigned(work, 'other').cert;
      pg = await startPostgres({
        prepare: (dir, chownToServer) => {
          const server = selfSigned(dir, 'server');
          fs.chmodSync(server.key, 0o600);
          chownToServer(server.key);
          chownToServer(server.cert);
          rootCert = path.join(work, 'root.crt');
          fs.copyFileSync(server.cert, rootCert);
        },
        // Relative to the data directory, which is inside the cluster's directory.
        settings: ['ssl=on', 'ssl_cert_file=../server.crt', 'ssl_key_file=../server.key'],
      });
      await pg.createDatabase('shop');
      await pg.query('shop', 'CREATE TABLE orders (id int PRIMARY KEY); INSERT INTO orders VALUES (1), (2)');
    });
    after(async () => {
      await pg?.stop();
      fs.rmSync(work, { recursive: true, force: true });
    });

    const backup = (label: string, query: string): ReturnType<typeof createBackup> => {
      const store = SqliteStore.memory();
      return createBackup(
        { store: new BackupStore(store.connection), stateDir: work, binDir: pg.binDir },
        {
          service: 'shop',
          url: `${pg.url('shop')}?${query}`,
          label,
          releaseId: null,
          actor: 'test',
          keep: 5,
          kind: 'manual',
          expiresAt: null,
        },
      );
    };

    it("sslmode=verify-full with the URL's sslrootcert: the dump is made over verified TLS", async () => {
      const { backup: made } = await backup(
        'verified',
        `sslmode=verify-full&sslrootcert=${encodeURIComponent(rootCert)}`,
      );
      assert.ok(made.sizeBytes > 0);
      assert.ok(fs.statSync(made.file).size > 0);
    });

    it('the root certificate is really used: another one fails the verification', async () => {
      await assert.rejects(
        backup('wrong-root', `sslmode=verify-full&sslrootcert=${encodeURIComponent(otherRootCert)}`),
        (error: unknown) => {
          assert.ok(error instanceof CutoverError);
          assert.equal(error.code, 'BACKUP_FAILED');
          assert.match(error.message, /certificate verify failed|self-signed certificate/i);
          return true;
        },
      );
    });
  });
});
