import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EXIT } from '../../src/cli/exit-codes.js';
import { findFreePort } from '../../src/runtime/process/free-port.js';
import { downServerProcess, runCli, startServerProcess } from '../support/cli-process.js';
import { SAMPLE_APP } from '../support/cutover-harness.js';

// Finding 20 of issue 12: the CLI exited only 0 or 1, so a script could not
// tell a failed deploy from a typo, a rollback, a timeout or a server that is
// down. Each exit code of docs/cli-exit-codes.md, through the real binary
// against a real server; and `logs --json` prints JSON lines.
describe('cutover exit codes', () => {
  let dir: string;
  let adminPort: number;
  let server: ChildProcess | null = null;
  const cli = (...args: string[]) => runCli(args, { cwd: dir });

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-exit-codes-'));
    const proxyPort = await findFreePort();
    adminPort = await findFreePort();
    const service = (name: string, strategy: string) => `  ${name}:
    hosts: [${name}.localhost]
    command: node server.js
    cwd: ${SAMPLE_APP}
    env: { APP_VERSION: "\${VERSION}", SLOW_START_MS: "20000" }
    instances: 1
    # start_period past both deploy timeouts (web 3 s, api 10 s): an unhealthy or slow version is still
    # starting at the timeout (exit 4), rather than failing its health threshold (HEALTH_FAILED, exit 1).
    health: { path: /health, interval: 200ms, healthy_threshold: 1, start_period: 30s }
    strategy: ${strategy}
    drain_timeout: 1s
`;
    fs.writeFileSync(
      path.join(dir, 'cutover.yaml'),
      `server:
  proxy: 127.0.0.1:${proxyPort}
  admin: 127.0.0.1:${adminPort}
  state_dir: .cutover
services:
${service('web', '{ type: blue-green, auto_switch: false, timeout: 3s }')}${service('api', `{ type: blue-green, auto_switch: true, timeout: 10s, post_promotion: { window: 30s, analysis: [gate] } }`)}analysis:
  gate:
    metrics:
      - name: no-fail-file
        provider: { command: { command: 'test ! -f ${path.join(dir, 'fail')}', timeout: 5s } }
        interval: 300ms
        success_condition: result.exitCode == 0
`,
    );
    server = await startServerProcess('cutover.yaml', dir, adminPort);
  });

  after(async () => {
    await downServerProcess(server, dir);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('0 when the operation succeeded, 7 when it waits for a person', async () => {
    const first = await cli('deploy', 'web', '--version', 'v1', '--auto-switch');
    assert.equal(first.code, EXIT.OK, first.stderr);
    const waiting = await cli('deploy', 'web', '--version', 'v2');
    assert.equal(waiting.code, EXIT.WAITING, waiting.stderr + waiting.stdout);
    assert.match(waiting.stdout, /ready: the new release is healthy/);
    const promoted = await cli('promote', 'web');
    assert.equal(promoted.code, EXIT.OK, promoted.stderr);
  });

  it('2 for a usage or config error: nothing was started', async () => {
    const missingOption = await cli('deploy', 'web');
    assert.equal(missingOption.code, EXIT.USAGE, missingOption.stderr);
    assert.match(missingOption.stderr, /--version/);
    const unknownCommand = await cli('deplyo', 'web');
    assert.equal(unknownCommand.code, EXIT.USAGE);
    const noConfig = await cli('--config', 'nowhere.yaml', 'status');
    assert.equal(noConfig.code, EXIT.USAGE, noConfig.stderr);
    assert.match(noConfig.stderr, /CONFIG_NOT_FOUND/);
    const noService = await cli('deploy', 'nosuch', '--version', 'v1');
    assert.equal(noService.code, EXIT.USAGE, noService.stderr);
    assert.match(noService.stderr, /SERVICE_NOT_FOUND/);
    const badTimeout = await cli('--timeout', 'soon', 'deploy', 'web', '--version', 'v9');
    assert.equal(badTimeout.code, EXIT.USAGE, badTimeout.stderr);
    const help = await cli('--help');
    assert.equal(help.code, EXIT.OK, 'help is not an error');
  });

  it('1 when the operation failed', async () => {
    const crashed = await cli('deploy', 'web', '--version', 'v3-crash', '--auto-switch');
    assert.equal(crashed.code, EXIT.FAILED, crashed.stderr + crashed.stdout);
    assert.match(crashed.stderr, /failed/);
  });

  it('3 when the operation was aborted by a person, or rolled back by analysis', async () => {
    const ready = await cli('deploy', 'web', '--version', 'v4');
    assert.equal(ready.code, EXIT.WAITING, ready.stderr);
    // Issue 20, item 11: `cutover abort` itself did what it was asked, so it exits 0; the deploy is aborted.
    const aborted = await cli('abort', 'web', '--json');
    assert.equal(aborted.code, EXIT.OK, aborted.stderr + aborted.stdout);
    assert.equal((JSON.parse(aborted.stdout) as { operation: { outcome: string } }).operation.outcome, 'aborted');

    assert.equal((await cli('deploy', 'api', '--version', 'v1')).code, EXIT.OK);
    // Whoever follows the deploy a person aborts sees it end aborted: 3.
    const following = cli('deploy', 'api', '--version', 'v4-slowstart');
    for (let i = 0; i < 100; i++) {
      const status = JSON.parse((await cli('status', 'api', '--json')).stdout) as { lock: unknown };
      if (status.lock) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal((await cli('abort', 'api')).code, EXIT.OK);
    const followed = await following;
    assert.equal(followed.code, EXIT.ABORTED, followed.stderr + followed.stdout);
    fs.writeFileSync(path.join(dir, 'fail'), '');
    const rolledBack = await cli('deploy', 'api', '--version', 'v2', '--json');
    fs.rmSync(path.join(dir, 'fail'));
    assert.equal(rolledBack.code, EXIT.ABORTED, rolledBack.stdout);
    const answer = JSON.parse(rolledBack.stdout) as { operation: { error: { code: string } }; exitCode: number };
    assert.equal(answer.operation.error.code, 'ANALYSIS_FAILED');
    assert.equal(answer.exitCode, EXIT.ABORTED);
  });

  it('4 when something timed out: the health checks, or the CLI --timeout', async () => {
    const unhealthy = await cli('deploy', 'web', '--version', 'v5-unhealthy', '--auto-switch');
    assert.equal(unhealthy.code, EXIT.TIMED_OUT, unhealthy.stderr + unhealthy.stdout);
    assert.match(unhealthy.stderr, /within|healthy|timeout/i);
    const slow = await cli('--timeout', '1s', 'deploy', 'api', '--version', 'v6-slowstart');
    assert.equal(slow.code, EXIT.TIMED_OUT, slow.stderr + slow.stdout);
    assert.match(slow.stderr, /timed out: stopped following/);
    // The deploy goes on on the server: a second one is refused while it holds the lock (6).
    const locked = await cli('deploy', 'api', '--version', 'v7');
    assert.equal(locked.code, EXIT.REFUSED, locked.stderr);
    assert.match(locked.stderr, /DEPLOY_LOCKED/);
    const aborted = await cli('abort', 'api');
    assert.equal(aborted.code, EXIT.OK, aborted.stderr);
  });

  it('5 when the server is unreachable or refuses the token', async () => {
    const closedPort = await findFreePort();
    const unreachable = await cli('--url', `http://127.0.0.1:${closedPort}`, '--token', 'x'.repeat(40), 'status');
    assert.equal(unreachable.code, EXIT.UNREACHABLE, unreachable.stderr);
    assert.match(unreachable.stderr, /SERVER_UNREACHABLE/);
    const badToken = await cli('--url', `http://127.0.0.1:${adminPort}`, '--token', 'y'.repeat(40), 'status');
    assert.equal(badToken.code, EXIT.UNREACHABLE, badToken.stderr);
    assert.match(badToken.stderr, /UNAUTHORIZED/);
  });

  it('6 when the server refuses the request in its current state', async () => {
    const nothing = await cli('approve', 'web');
    assert.equal(nothing.code, EXIT.REFUSED, nothing.stderr);
    assert.match(nothing.stderr, /INVALID_STATE/);
  });

  it('logs --json prints one JSON object per line', async () => {
    const result = await cli('logs', 'web', '--json', '-n', '5');
    assert.equal(result.code, EXIT.OK, result.stderr);
    const lines = result.stdout.trim().split('\n');
    assert.ok(lines.length >= 1, result.stdout);
    for (const line of lines) {
      const entry = JSON.parse(line) as {
        service: string;
        instance: string;
        release: string;
        version: string;
        slot: string;
        line: string;
      };
      assert.equal(entry.service, 'web');
      assert.equal(entry.version, 'v2');
      assert.match(entry.instance, /^(blue|green)-\d+$/);
      assert.ok(entry.instance.startsWith(entry.slot));
      assert.equal(typeof entry.line, 'string');
    }
    assert.ok(
      lines.some((line) => /sample-app v2/.test((JSON.parse(line) as { line: string }).line)),
      result.stdout,
    );
  });
});
