import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { EXIT } from '../../src/cli/exit-codes.js';
import type { ServiceStatus } from '../../src/controller/service-status.js';
import { findFreePort } from '../../src/runtime/process/free-port.js';
import { downServerProcess, runCli, startServerProcess, waitForExit } from '../support/cli-process.js';
import { CLI, SAMPLE_APP } from '../support/cutover-harness.js';
import { spawnPty } from '../support/pty.js';

// Issue 20, items 2, 3, 10, 11 and 12, through the real binary against one
// real server: what the CLI says about operations must be true. A lock names
// its holder and the real choices (finish keeps, abort rolls back and says so
// first); a paused canary is reported as paused; a failure carries its code;
// a successful abort exits 0; Ctrl-C says the deploy goes on and how to stop
// it; commands on a running operation follow from now, not from its start.
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*[A-Za-z]`, 'g');
const stripAnsi = (text: string): string => text.replace(ANSI, '');

describe('following operations: what the CLI says is what happens', () => {
  let dir: string;
  let proxyPort: number;
  let server: ChildProcess | null = null;
  const cli = (...args: string[]) => runCli(args, { cwd: dir });
  const env = (): NodeJS.ProcessEnv => {
    const clean = { ...process.env };
    for (const key of Object.keys(clean)) if (key.startsWith('CUTOVER_')) delete clean[key];
    return clean;
  };
  let adminPort: number;
  // Straight to the API: polling through the CLI would start a node process per look.
  const status = async (service: string): Promise<ServiceStatus> => {
    const token = fs.readFileSync(path.join(dir, '.cutover', 'admin-token'), 'utf8').trim();
    const response = await request(`http://127.0.0.1:${adminPort}/api/v1/services/${service}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(response.statusCode, 200);
    return (await response.body.json()) as ServiceStatus;
  };
  const until = async (service: string, done: (s: ServiceStatus) => boolean): Promise<ServiceStatus> => {
    for (let i = 0; i < 150; i++) {
      const s = await status(service);
      if (done(s)) return s;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.fail(`${service} never reached the awaited state: ${JSON.stringify(await status(service))}`);
  };
  const served = async (service: string): Promise<string> => {
    const response = await request(`http://127.0.0.1:${proxyPort}/`, { headers: { host: `${service}.localhost` } });
    return ((await response.body.json()) as { version: string }).version;
  };

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-following-'));
    proxyPort = await findFreePort();
    adminPort = await findFreePort();
    const service = (name: string, strategy: string) => `  ${name}:
    hosts: [${name}.localhost]
    command: node server.js
    cwd: ${SAMPLE_APP}
    env: { APP_VERSION: "\${VERSION}" }
    instances: 1
    health: { path: /health, interval: 200ms, healthy_threshold: 1, start_period: 1s }
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
${service('api', '{ type: blue-green, auto_switch: true, timeout: 10s, post_promotion: { window: 10m, analysis: [passing] } }')}${service('shop', '{ type: canary, steps: [{ weight: 5, pause: 1m, analysis: [undecided] }, { weight: 100 }], timeout: 10s }')}${service('cart', '{ type: canary, steps: [{ weight: 20, pause: 10m }, { weight: 100 }], timeout: 10s }')}${service('web', '{ type: blue-green, auto_switch: true, timeout: 5s }')}analysis:
  passing:
    metrics:
      - name: always
        provider: { command: 'true' }
        interval: 1s
        success_condition: result.exitCode == 0
  undecided:
    metrics:
      - name: neither
        provider: { command: 'true' }
        interval: 300ms
        success_condition: result.exitCode == 1
        failure_condition: result.exitCode == 2
`,
    );
    server = await startServerProcess('cutover.yaml', dir, adminPort);
  });

  after(async () => {
    await downServerProcess(server, dir);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a deploy refused in a post-promotion window says what holds it, until when, and the two real choices', async () => {
    assert.equal((await cli('deploy', 'api', '--version', 'v1')).code, EXIT.OK);
    assert.equal((await cli('deploy', 'api', '--version', 'v2', '--no-wait')).code, EXIT.OK);
    await until('api', (s) => s.operation?.phase === 'watching');
    const locked = await cli('deploy', 'api', '--version', 'v3');
    assert.equal(locked.code, EXIT.REFUSED, locked.stderr);
    assert.match(
      locked.stderr,
      /DEPLOY_LOCKED: service 'api' is locked by \S+ since \S+: deploy op-\S+ is in the post_promotion window of v2 \(api-2\), which serves all traffic, until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/,
    );
    assert.match(locked.stderr, /`cutover finish api` ends the window keeping v2 \(api-2\)/);
    assert.match(locked.stderr, /`cutover abort api` rolls back to v1 \(api-1\)/);

    // finish: the window ends now, v2 stays; only what finish did is printed, not the deploy's history.
    const finished = await cli('finish', 'api');
    assert.equal(finished.code, EXIT.OK, finished.stderr + finished.stdout);
    assert.match(finished.stdout, /post-promotion window ended early by .*: v2 \(api-2\) keeps serving/);
    assert.match(finished.stdout, /done: deploy op-\S+ succeeded/);
    assert.doesNotMatch(finished.stdout, /started by/);
    assert.equal(await served('api'), 'v2');
  });

  it('abort after the switch says it rolls back, and to what, before it acts; it exits 0', async () => {
    assert.equal((await cli('deploy', 'api', '--version', 'v3', '--no-wait')).code, EXIT.OK);
    await until('api', (s) => s.operation?.phase === 'watching');
    const aborted = await cli('abort', 'api');
    assert.equal(aborted.code, EXIT.OK, aborted.stderr + aborted.stdout);
    const lines = aborted.stdout.split('\n');
    assert.match(
      lines[0]!,
      /^abort: traffic has already switched to v3 \(api-3\): this rolls api back to v2 \(api-2\)/,
    );
    assert.match(aborted.stdout, /done: deploy op-\S+ rolled back/);
    assert.doesNotMatch(aborted.stdout + aborted.stderr, /cutover logs/);
    assert.equal(await served('api'), 'v2');
  });

  it('a canary paused by an inconclusive analysis is reported as paused, with why, step and weight: exit 8', async () => {
    assert.equal((await cli('deploy', 'shop', '--version', 'v1')).code, EXIT.OK);
    const paused = await cli('deploy', 'shop', '--version', 'v2');
    assert.equal(paused.code, EXIT.PAUSED, paused.stderr + paused.stdout);
    assert.match(
      paused.stdout,
      /paused: the canary shop-2 holds 5% of traffic at step 1\/2: the analysis was inconclusive/,
    );
    assert.match(paused.stdout, /next: cutover promote shop .* cutover abort shop/);
    assert.doesNotMatch(paused.stdout, /ready/);
    const shown = await cli('status', 'shop');
    assert.match(shown.stdout, /\(paused: inconclusive\)/);
    assert.doesNotMatch(shown.stdout, /paused, paused/);
    const aborted = await cli('abort', 'shop');
    assert.equal(aborted.code, EXIT.OK, aborted.stderr + aborted.stdout);
    assert.match(aborted.stdout, /done: deploy op-\S+ aborted/);
  });

  it('pause says where the canary holds; resume follows from now, not from the deploy start', async () => {
    assert.equal((await cli('deploy', 'cart', '--version', 'v1')).code, EXIT.OK);
    assert.equal((await cli('deploy', 'cart', '--version', 'v2', '--no-wait')).code, EXIT.OK);
    await until('cart', (s) => s.canary?.weight === 20 && s.canary.phase === 'stepping');
    const paused = await cli('pause', 'cart');
    assert.equal(paused.code, EXIT.OK, paused.stderr);
    assert.match(paused.stdout, /paused: the canary cart-2 holds 20% of traffic at step 1\/2: a person paused it/);
    assert.doesNotMatch(paused.stdout, /started/);
    const resumed = await cli('--timeout', '2s', 'resume', 'cart');
    assert.equal(resumed.code, EXIT.TIMED_OUT, resumed.stderr + resumed.stdout);
    assert.match(resumed.stdout, /resumed at 20%/);
    assert.doesNotMatch(resumed.stdout, /started by|step 1\/2/);
    assert.equal((await cli('abort', 'cart')).code, EXIT.OK);
  });

  it('Ctrl-C on a terminal stops following only, and says the deploy continues and how to stop it', async () => {
    const terminal = spawnPty(process.execPath, [CLI, 'deploy', 'cart', '--version', 'v3'], { cwd: dir, env: env() });
    try {
      await terminal.waitFor(/step 1\/2: 20% of traffic/, 30_000);
      terminal.write('\x03');
      const exit = await terminal.exited;
      assert.equal(exit.code, 130, exit.output);
      assert.match(
        stripAnsi(exit.output),
        /stopped following: the deploy continues on the server; `cutover abort cart` stops it/,
      );
    } finally {
      terminal.kill();
    }
    const running = await status('cart');
    assert.equal(running.operation?.phase, 'stepping', 'the deploy goes on on the server');
    assert.equal((await cli('abort', 'cart')).code, EXIT.OK);
  });

  it('SIGINT sent to the CLI (no terminal) says the same', async () => {
    const child = spawn(process.execPath, [CLI, 'deploy', 'cart', '--version', 'v4'], {
      cwd: dir,
      env: { ...env(), NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      await new Promise<void>((resolve) =>
        child.stdout.on('data', (d: Buffer) => {
          stdout += d.toString();
          if (/step 1\/2: 20% of traffic/.test(stdout)) resolve();
        }),
      );
      child.kill('SIGINT');
      assert.equal(await waitForExit(child), 130, stderr);
      assert.match(stderr, /stopped following: the deploy continues on the server; `cutover abort cart` stops it/);
    } finally {
      child.kill('SIGKILL');
    }
    assert.equal((await status('cart')).operation?.phase, 'stepping');
    assert.equal((await cli('abort', 'cart')).code, EXIT.OK);
  });

  it('a failure names its error code', async () => {
    const failed = await cli('deploy', 'web', '--version', 'v1-crash');
    assert.equal(failed.code, EXIT.FAILED, failed.stderr + failed.stdout);
    assert.match(failed.stderr, /^failed: .* \(INSTANCE_EXITED\)$/m);
  });
});
