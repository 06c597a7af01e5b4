import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { CommandProvider } from '../../src/analysis/command-provider.js';
import { runMigrationCommand } from '../../src/migrate/migration-command.js';
import { findFreePort } from '../../src/runtime/process/free-port.js';
import { downServerProcess, startServerProcess } from '../support/cli-process.js';
import { SAMPLE_APP } from '../support/cutover-harness.js';

/**
 * Issue 12, finding 2: every app inherited the server's whole environment
 * (CUTOVER_TOKEN, CUTOVER_SDK_TOKEN, DATABASE_URL, webhook secrets), readable
 * in /proc/<app pid>/environ; an app that prints its environment on an error
 * page handed out admin access. Children now get PATH, HOME, LANG, LC_*, TZ,
 * TMPDIR, USER, the names in `inherit_env`, and what cutover sets for them.
 */
const SECRETS = {
  CUTOVER_TOKEN: 'admin-token-must-not-leak-7f3a-0123456789abcdef',
  CUTOVER_SDK_TOKEN: 'sdk-token-must-not-leak-91c2-0123456789abcdef',
  DATABASE_URL: 'postgres://app:db-password-must-not-leak@127.0.0.1:1/app',
  WEBHOOK_SECRET: 'webhook-hmac-key-must-not-leak-55d0',
};

function environOf(pid: number): Record<string, string> {
  const entries = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
  return Object.fromEntries(
    entries.map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]),
  );
}

function parseEnvDump(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split('\n')
      .filter((line) => line.includes('='))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

function assertNoSecret(env: Record<string, string>, where: string): void {
  for (const [name, value] of Object.entries(SECRETS)) {
    assert.equal(env[name], undefined, `${where}: ${name} was passed on`);
    for (const [key, seen] of Object.entries(env))
      assert.ok(!seen.includes(value), `${where}: the value of ${name} is in ${key}`);
  }
}

describe('server secrets leak into the environment of the apps it starts', () => {
  let dir: string;
  let server: ChildProcess;
  let adminPort: number;
  const healthDump = (): string => path.join(dir, 'health-env.txt');

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-env-'));
    adminPort = await findFreePort();
    const proxyPort = await findFreePort();
    const configFile = path.join(dir, 'cutover.yaml');
    fs.writeFileSync(
      configFile,
      [
        'server:',
        `  proxy: 127.0.0.1:${proxyPort}`,
        `  admin: 127.0.0.1:${adminPort}`,
        `  state_dir: ${path.join(dir, 'state')}`,
        'services:',
        '  web:',
        '    command: node server.js',
        `    cwd: ${SAMPLE_APP}`,
        '    env: { APP_VERSION: "${VERSION}", FROM_CONFIG: "written-in-env" }',
        '    inherit_env: [APP_FEATURE_FLAG]',
        '    instances: 1',
        // The check dumps what a command health check sees, then asks the app.
        `    health: { command: "env > '${healthDump()}' && node -e \\"fetch('http://127.0.0.1:' + process.env.PORT + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))\\"", interval: 200ms, timeout: 2s, healthy_threshold: 1, start_period: 5s }`,
        '    strategy: { type: blue-green, auto_switch: true, timeout: 20s }',
        '',
      ].join('\n'),
    );
    server = await startServerProcess(configFile, dir, adminPort, {
      ...SECRETS,
      APP_FEATURE_FLAG: 'on',
      NOT_LISTED: 'server-only',
      LC_TIME: 'C',
      TZ: 'UTC',
    });
  });

  after(async () => {
    await downServerProcess(server, dir, SECRETS);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("an instance gets the minimal base, its env, inherit_env and cutover's values, and none of the server's secrets", async () => {
    const admin = (method: 'GET' | 'POST', url: string, body?: object) =>
      request(`http://127.0.0.1:${adminPort}${url}`, {
        method,
        headers: { authorization: `Bearer ${SECRETS.CUTOVER_TOKEN}`, 'content-type': 'application/json' },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    const deploy = await admin('POST', '/api/v1/services/web/deploy', { version: 'v1', autoSwitch: true });
    assert.equal(deploy.statusCode, 202, await deploy.body.text());
    let pid: number | null | undefined;
    for (const deadline = Date.now() + 30_000; !pid; await new Promise((resolve) => setTimeout(resolve, 100))) {
      assert.ok(Date.now() < deadline, 'the deploy did not become active');
      const status = (await (await admin('GET', '/api/v1/services/web')).body.json()) as {
        active: { instances: { pid: number | null }[] } | null;
      };
      pid = status.active?.instances[0]?.pid;
    }

    const env = environOf(pid);
    assertNoSecret(env, 'the app');
    assert.equal(env.NOT_LISTED, undefined, 'a name not in inherit_env stays with the server');
    assert.equal(env.APP_FEATURE_FLAG, 'on', 'inherit_env names are passed on');
    assert.equal(env.FROM_CONFIG, 'written-in-env');
    assert.equal(env.VERSION, 'v1');
    assert.equal(env.APP_VERSION, 'v1');
    assert.match(env.PORT ?? '', /^\d+$/);
    assert.ok(env.PATH, 'PATH is part of the base');
    assert.equal(env.LC_TIME, 'C', 'LC_* is part of the base');
    assert.equal(env.TZ, 'UTC', 'TZ is part of the base');

    const health = parseEnvDump(fs.readFileSync(healthDump(), 'utf8'));
    assertNoSecret(health, 'the command health check');
    assert.equal(health.NOT_LISTED, undefined);
    assert.equal(health.APP_FEATURE_FLAG, 'on', "a health check follows the service's inherit_env");
    assert.equal(health.VERSION, 'v1');
  });
});

describe('server secrets leak into analysis and database hook commands', () => {
  const saved: Record<string, string | undefined> = {};
  before(() => {
    for (const [name, value] of Object.entries({ ...SECRETS, APP_FEATURE_FLAG: 'on' })) {
      saved[name] = process.env[name];
      process.env[name] = value;
    }
  });
  after(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it("a command analysis provider sees its own inputs and inherit_env, not the server's secrets", async () => {
    const provider = new CommandProvider({ command: 'env', timeoutMs: 10_000, inheritEnv: ['APP_FEATURE_FLAG'] });
    const result = await provider.measure({
      service: 'web',
      canaryReleaseId: 'web-2',
      stableReleaseId: 'web-1',
      windowStart: 1,
    });
    const printed = (result as { value: { stdout: string } }).value.stdout;
    const env = parseEnvDump(printed);
    assertNoSecret(env, 'the analysis command');
    assert.equal(env.SERVICE, 'web');
    assert.equal(env.CANARY_RELEASE, 'web-2');
    assert.equal(env.APP_FEATURE_FLAG, 'on');
  });

  it('a database hook gets the DATABASE_URL it is given, but no cutover token', async () => {
    const given = 'postgres://hook:given-to-the-hook@127.0.0.1:1/app';
    const result = await runMigrationCommand({
      command: 'env',
      cwd: os.tmpdir(),
      timeoutMs: 10_000,
      env: { DATABASE_URL: given, VERSION: 'v2', CUTOVER_SERVICE: 'web', CUTOVER_PHASE: 'expand' },
    });
    const env = parseEnvDump(result.output);
    assert.equal(env.DATABASE_URL, given, "the hook's documented input");
    assert.equal(env.CUTOVER_PHASE, 'expand');
    assert.equal(env.CUTOVER_TOKEN, undefined);
    assert.equal(env.CUTOVER_SDK_TOKEN, undefined);
    assert.equal(env.WEBHOOK_SECRET, undefined);
    assert.equal(env.APP_FEATURE_FLAG, undefined, 'not inherited unless the service lists it');
  });
});
