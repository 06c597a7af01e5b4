import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Writable } from 'node:stream';
import pino from 'pino';
import { AdminClient } from '../../src/cli/admin-client.js';
import { parseConfig } from '../../src/config/load-config.js';
import { findFreePort } from '../../src/runtime/process/free-port.js';
import { startServer, type RunningServer } from '../../src/server/start-server.js';
import { configYaml } from '../support/cutover-harness.js';
import { operate } from '../support/operations.js';

// Finding 12 of issue 12: another user of the machine could read the state
// directory: an existing one kept 0755, and cutover.db (releases, events, the
// audit trail) and the instance logs (where apps print secrets) were 0644. Now
// the server tightens the directory to 0700 at start and says so, and every
// file it writes there is 0600 (an existing looser one is tightened too).
describe('state files readable by other users of the machine', () => {
  let dir: string;
  let stateDir: string;
  let server: RunningServer;
  const logLines: { level: number; msg: string; stateDir?: string; mode?: string }[] = [];

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-modes-'));
    stateDir = path.join(dir, 'state');
    // As an older version (or a person with the usual umask) left it: a 0755 directory with 0644 files.
    fs.mkdirSync(stateDir);
    fs.chmodSync(stateDir, 0o755);
    fs.writeFileSync(path.join(stateDir, 'admin-token'), 'a-token-from-before-0123456789abcdef\n');
    fs.chmodSync(path.join(stateDir, 'admin-token'), 0o644);
    fs.writeFileSync(path.join(stateDir, 'cutover.db'), '');
    fs.chmodSync(path.join(stateDir, 'cutover.db'), 0o644);

    const proxy = await findFreePort();
    const admin = await findFreePort();
    const configFile = path.join(dir, 'cutover.yaml');
    fs.writeFileSync(
      configFile,
      await configYaml(dir, { strategy: '{ type: blue-green, auto_switch: true, timeout: 20s }' }, { proxy, admin }),
    );
    const config = parseConfig(fs.readFileSync(configFile, 'utf8'), configFile);
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(JSON.parse(chunk.toString()) as (typeof logLines)[number]);
        done();
      },
    });
    server = await startServer(config, { logger: pino({ level: 'info' }, sink), env: {} });
    const client = new AdminClient({ url: server.adminUrl, token: server.token });
    const { operation } = await operate(client, '/api/v1/services/web/deploy', { version: 'v1' });
    assert.equal(operation.outcome, 'succeeded');
  });
  after(async () => {
    await server?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the state directory is 0700 and the server logged that it tightened it', () => {
    assert.equal(fs.statSync(stateDir).mode & 0o777, 0o700);
    const warning = logLines.find((l) => l.level === 40 && /tightened it to 0700/.test(l.msg));
    assert.ok(
      warning,
      `a warning about the state directory: ${JSON.stringify(logLines.map((l) => l.msg).slice(0, 20))}`,
    );
    assert.equal(warning.stateDir, stateDir);
    assert.equal(warning.mode, '0755');
  });

  it('every directory under it is 0700 and every file 0600: the database and its WAL, tokens, instance logs', () => {
    const found: { file: string; mode: number }[] = [];
    const walk = (at: string): void => {
      for (const entry of fs.readdirSync(at, { withFileTypes: true })) {
        const full = path.join(at, entry.name);
        const mode = fs.statSync(full).mode & 0o777;
        if (entry.isDirectory()) {
          assert.equal(mode.toString(8), '700', `directory ${path.relative(stateDir, full)}`);
          walk(full);
        } else {
          found.push({ file: path.relative(stateDir, full), mode });
        }
      }
    };
    walk(stateDir);
    const names = found.map((f) => f.file);
    for (const expected of [
      'cutover.db',
      'cutover.db-wal',
      'cutover.db-shm',
      'admin-token',
      'sdk-token',
      'logs/web/web-1/blue-0.log',
      'logs/web/web-1/blue-1.log',
    ]) {
      assert.ok(names.includes(expected), `${expected} is among ${names.join(', ')}`);
    }
    for (const { file, mode } of found) assert.equal(mode.toString(8), '600', `file ${file}`);
    assert.equal(
      server.token,
      'a-token-from-before-0123456789abcdef',
      'the old token is still used, only its mode changed',
    );
  });
});
