import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AdminClient } from '../../src/cli/admin-client.js';
import { readEnvFiles, withEnvFiles } from '../../src/config/env-files.js';
import { parseConfig } from '../../src/config/load-config.js';
import { CutoverError } from '../../src/core/errors.js';
import { findFreePort } from '../../src/runtime/process/free-port.js';
import { startServer, type RunningServer } from '../../src/server/start-server.js';
import { SAMPLE_APP, silentLogger } from '../support/cutover-harness.js';
import { operate, versionAt } from '../support/operations.js';

// env_file: on the process runtime, end to end. The sample app answers with
// APP_VERSION, so what it answers is what the env files gave it: the files
// are read again at each deploy, a missing one refuses the deploy while the
// running release serves on, and a secret from a file is redacted by value.

describe('env_file in cutover.yaml', () => {
  let dir: string;
  let server: RunningServer;
  let client: AdminClient;
  let proxyUrl: string;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-env-file-'));
    fs.mkdirSync(path.join(dir, 'env'));
    fs.writeFileSync(path.join(dir, 'env', 'base.env'), 'APP_VERSION=from-base\nGREETING="hello\\nworld"\n');
    fs.writeFileSync(path.join(dir, 'env', 'release.env'), '# the later file wins\nAPP_VERSION=from-file-1\n');
    fs.writeFileSync(path.join(dir, 'secret.env'), 'SESSION_TOKEN=tok-7f3a9c21e5d84b60\n');
    const configFile = path.join(dir, 'cutover.yaml');
    const health = '{ path: /health, interval: 200ms, timeout: 1s, start_period: 5s }';
    fs.writeFileSync(
      configFile,
      `server:
  proxy: 127.0.0.1:${await findFreePort()}
  admin: 127.0.0.1:${await findFreePort()}
  state_dir: ./state
  proxy_workers: 1
services:
  web:
    default: true
    command: node server.js
    cwd: ${SAMPLE_APP}
    env_file: [./env/base.env, ./env/release.env]
    instances: 1
    health: ${health}
    strategy: { type: blue-green, auto_switch: true, auto_cleanup: true, timeout: 20s }
    drain_timeout: 1s
    stop_grace_period: 3s
  leaky:
    hosts: [leaky.localhost]
    shell: true
    command: echo "starting with $SESSION_TOKEN"; exit 1
    env_file: secret.env
    instances: 1
    health: ${health}
    strategy: { type: blue-green, auto_switch: true, timeout: 20s }
`,
    );
    const config = parseConfig(fs.readFileSync(configFile, 'utf8'), configFile, { env: {} });
    assert.deepEqual(config.services.web?.envFiles, [
      path.join(dir, 'env', 'base.env'),
      path.join(dir, 'env', 'release.env'),
    ]);
    server = await startServer(config, { logger: silentLogger, env: {} });
    client = new AdminClient({ url: server.adminUrl, token: server.token });
    proxyUrl = server.proxyUrl;
  });
  after(async () => {
    await server?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('gives the app the files’ variables, the later file winning, and reads them again at the next deploy', async () => {
    const first = await operate(client, '/api/v1/services/web/deploy', { version: 'v1' });
    assert.equal(first.operation.outcome, 'succeeded', JSON.stringify(first.operation.error));
    assert.equal((await versionAt(proxyUrl)).version, 'from-file-1');

    fs.writeFileSync(path.join(dir, 'env', 'release.env'), 'APP_VERSION=from-file-2\n');
    const second = await operate(client, '/api/v1/services/web/deploy', { version: 'v2' });
    assert.equal(second.operation.outcome, 'succeeded', JSON.stringify(second.operation.error));
    assert.equal((await versionAt(proxyUrl)).version, 'from-file-2');

    // Neither the snapshot nor the API holds a file's values: only its path.
    const history = JSON.stringify(await client.request('GET', '/api/v1/services/web/history'));
    assert.ok(!history.includes('from-file-2'), history);
  });

  it('refuses a deploy whose env file is missing, with its path and ENV_FILE_UNREADABLE, and the active release serves on', async () => {
    const missing = path.join(dir, 'env', 'release.env');
    fs.rmSync(missing);
    await assert.rejects(
      client.request('POST', '/api/v1/services/web/deploy', { version: 'v3', actor: 'test' }),
      (error: unknown) => {
        assert.ok(error instanceof CutoverError, String(error));
        assert.equal(error.code, 'ENV_FILE_UNREADABLE');
        assert.ok(error.message.includes(missing), error.message);
        return true;
      },
    );
    assert.deepEqual(await versionAt(proxyUrl), { status: 200, version: 'from-file-2' });
    // Nothing was locked or started: the file back, the next deploy goes through.
    fs.writeFileSync(missing, 'APP_VERSION=from-file-4\n');
    const fourth = await operate(client, '/api/v1/services/web/deploy', { version: 'v4' });
    assert.equal(fourth.operation.outcome, 'succeeded', JSON.stringify(fourth.operation.error));
    assert.equal((await versionAt(proxyUrl)).version, 'from-file-4');
  });

  it('a rollback that starts an old release again reads the env files as they are now', async () => {
    // auto_cleanup stops v2 after the switch to v4 (off the operation's path): once it has, the rollback
    // starts it again in the idle slot.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const { releases } = await client.request<{ releases: { version: string; state: string }[] }>(
        'GET',
        '/api/v1/services/web/history',
      );
      if (releases.find((r) => r.version === 'v2')?.state === 'stopped') break;
      assert.ok(Date.now() < deadline, `v2 was not stopped: ${JSON.stringify(releases)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    fs.writeFileSync(path.join(dir, 'env', 'release.env'), 'APP_VERSION=from-file-at-rollback\n');
    const rollback = await operate(client, '/api/v1/services/web/rollback', {});
    assert.equal(rollback.operation.outcome, 'succeeded', JSON.stringify(rollback.operation.error));
    assert.equal((await versionAt(proxyUrl)).version, 'from-file-at-rollback');
  });

  it('redacts a secret-named value from a file wherever the API shows it, like one under env:', async () => {
    const failed = await operate(client, '/api/v1/services/leaky/deploy', { version: 'v1' });
    assert.equal(failed.operation.outcome, 'failed');
    const shown = JSON.stringify(failed);
    // The instance's last log lines are quoted in the error: the value is there, redacted.
    assert.match(shown, /starting with \[redacted\]/);
    assert.ok(!shown.includes('tok-7f3a9c21e5d84b60'), shown);
  });
});

describe('env_file precedence (env-files.ts)', () => {
  it('merges files in order and lets env: win over every file, as Compose does', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-env-file-unit-'));
    try {
      fs.writeFileSync(path.join(dir, 'a.env'), 'A=1\nB=from-a\nQUOTED="x # not a comment"\nexport EXPORTED=yes\n');
      fs.writeFileSync(path.join(dir, 'b.env'), 'B=from-b\nC=from-b\n');
      const service = {
        ...parseConfig('services: { web: { command: node s.js } }', path.join(dir, 'cutover.yaml'), { env: {} })
          .services.web!,
        env: { C: 'from-env' },
        envFiles: [path.join(dir, 'a.env'), path.join(dir, 'b.env')],
      };
      assert.deepEqual(readEnvFiles(service), {
        A: '1',
        B: 'from-b',
        QUOTED: 'x # not a comment',
        EXPORTED: 'yes',
        C: 'from-b',
      });
      assert.deepEqual(withEnvFiles(service).service.env, {
        A: '1',
        B: 'from-b',
        QUOTED: 'x # not a comment',
        EXPORTED: 'yes',
        C: 'from-env',
      });
      fs.mkdirSync(path.join(dir, 'dir.env'));
      assert.throws(
        () => readEnvFiles({ name: 'web', envFiles: [path.join(dir, 'dir.env')] }),
        /ENV_FILE_UNREADABLE|not a regular file/,
      );
      fs.writeFileSync(path.join(dir, 'huge.env'), Buffer.alloc(1024 * 1024 + 1, 'A'));
      assert.throws(() => readEnvFiles({ name: 'web', envFiles: [path.join(dir, 'huge.env')] }), /byte limit/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
