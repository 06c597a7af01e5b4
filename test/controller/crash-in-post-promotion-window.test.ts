import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { ServiceStatus } from '../../src/controller/service-status.js';
import { findFreePort } from '../../src/runtime/process/free-port.js';
import type { EventRecord, OperationRecord, ReleaseRecord } from '../../src/store/records.js';
import { downServerProcess, isAlive, runCli, startServerProcess, waitForExit } from '../support/cli-process.js';
import { SAMPLE_APP } from '../support/cutover-harness.js';
import { sleep, versionAt } from '../support/operations.js';

// Finding 15 of issue 12: the server is SIGKILLed while a blue-green deploy is
// in its post-promotion window (`watching`). Traffic had moved: after the
// restart the new release must still be the active one, the previous release
// must still run (its slot is the instant rollback, and its scale_down_delay
// starts only when the window ends), and the post-promotion analysis must go
// on for the rest of its window: a failure still switches back, a rollback is
// still instant, and a window that completes ends the deploy as succeeded.

interface Stack {
  dir: string;
  adminPort: number;
  proxyUrl: string;
  server: ChildProcess | null;
}

const stacks: Stack[] = [];

async function startStack(window: string): Promise<Stack> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-watch-kill-'));
  const proxyPort = await findFreePort();
  const adminPort = await findFreePort();
  fs.writeFileSync(
    path.join(dir, 'cutover.yaml'),
    `server:
  proxy: 127.0.0.1:${proxyPort}
  admin: 127.0.0.1:${adminPort}
  state_dir: .cutover
services:
  web:
    hosts: [web.localhost]
    default: true
    command: node server.js
    cwd: ${SAMPLE_APP}
    env: { APP_VERSION: "\${VERSION}" }
    instances: 1
    health: { path: /health, interval: 200ms, healthy_threshold: 1 }
    strategy:
      type: blue-green
      auto_switch: true
      timeout: 20s
      scale_down_delay: 10m
      post_promotion: { window: ${window}, analysis: [gate] }
    drain_timeout: 1s
analysis:
  gate:
    metrics:
      - name: no-fail-file
        provider: { command: { command: 'test ! -f ${path.join(dir, 'fail')}', timeout: 5s } }
        interval: 300ms
        success_condition: result.exitCode == 0
`,
  );
  const stack: Stack = { dir, adminPort, proxyUrl: `http://127.0.0.1:${proxyPort}/`, server: null };
  stacks.push(stack);
  stack.server = await startServerProcess('cutover.yaml', dir, adminPort);
  return stack;
}

const cli = (stack: Stack, ...args: string[]) => runCli(args, { cwd: stack.dir });

/** Reads the admin API directly (polling through a CLI process per probe would be slow on a busy machine). */
async function api<T>(stack: Stack, url: string): Promise<T> {
  const token = fs.readFileSync(path.join(stack.dir, '.cutover', 'admin-token'), 'utf8').trim();
  const response = await fetch(`http://127.0.0.1:${stack.adminPort}${url}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(response.status, 200, url);
  return (await response.json()) as T;
}
const status = (stack: Stack) => api<ServiceStatus>(stack, '/api/v1/services/web');
const history = (stack: Stack) =>
  api<{ releases: ReleaseRecord[]; operations: OperationRecord[] }>(stack, '/api/v1/services/web/history');
const operationOf = (stack: Stack, id: string) =>
  api<{ operation: OperationRecord; events: EventRecord[] }>(stack, `/api/v1/operations/${id}`);

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

function pidsOf(stack: Stack, releaseId: string): number[] {
  const db = new Database(path.join(stack.dir, '.cutover', 'cutover.db'), { readonly: true });
  try {
    return (
      db.prepare('SELECT info_json FROM instances WHERE release_id = ?').all(releaseId) as { info_json: string }[]
    ).map((row) => (JSON.parse(row.info_json) as { pid: number }).pid);
  } finally {
    db.close();
  }
}

/** Deploys `version`, waits until it watches after the switch, and SIGKILLs the server there; returns the operation. */
async function deployAndKillWhileWatching(stack: Stack, version: string): Promise<OperationRecord> {
  const started = await cli(stack, 'deploy', 'web', '--version', version, '--no-wait', '--json');
  assert.equal(started.code, 0, started.stderr);
  const operation = (JSON.parse(started.stdout) as { operation: OperationRecord }).operation;
  await until(`${version} watching`, async () => (await status(stack)).operation?.phase === 'watching');
  assert.equal((await versionAt(stack.proxyUrl, 'web.localhost')).version, version);
  stack.server!.kill('SIGKILL');
  await waitForExit(stack.server!);
  stack.server = await startServerProcess('cutover.yaml', stack.dir, stack.adminPort);
  return operation;
}

after(async () => {
  for (const stack of stacks) {
    await downServerProcess(stack.server, stack.dir);
    fs.rmSync(stack.dir, { recursive: true, force: true });
  }
});

describe('SIGKILL of the server in the blue-green post-promotion window', () => {
  it('keeps the new release active, the old one running, and a failing analysis after the restart still switches back', async () => {
    const stack = await startStack('60s');
    assert.equal((await cli(stack, 'deploy', 'web', '--version', 'v1')).code, 0);
    const v1 = (await status(stack)).active!;
    const v1Pids = pidsOf(stack, v1.releaseId);
    assert.equal(v1Pids.length, 1);

    const deploy = await deployAndKillWhileWatching(stack, 'v2');

    const after = await status(stack);
    assert.equal(after.active?.version, 'v2', 'the release that had the traffic is still the active one');
    assert.equal(after.operation?.id, deploy.id, 'the deploy is still running: its window is not over');
    assert.equal(after.operation?.phase, 'watching');
    assert.equal((await versionAt(stack.proxyUrl, 'web.localhost')).version, 'v2');
    assert.ok(v1Pids.every(isAlive), 'the previous release still runs in its slot');
    const resumed = await operationOf(stack, deploy.id);
    assert.equal(resumed.operation.outcome, null);
    assert.ok(
      resumed.events.some((e) => e.type === 'deploy.watch-resumed'),
      resumed.events.map((e) => e.type).join(','),
    );
    const v1Record = (await history(stack)).releases.find((r) => r.id === v1.releaseId)!;
    assert.equal(v1Record.state, 'standby');
    assert.equal(v1Record.scaleDownAt, null, 'the scale-down waits for the end of the window');

    // The analysis runs again after the restart: a failure switches back to v1, whose process never stopped.
    fs.writeFileSync(path.join(stack.dir, 'fail'), '');
    const ended = await until('the deploy to end', async () => {
      const answer = await operationOf(stack, deploy.id);
      return answer.operation.outcome ? answer : null;
    });
    assert.equal(ended.operation.outcome, 'failed');
    assert.equal(ended.operation.error?.code, 'ANALYSIS_FAILED');
    assert.ok(
      ended.events.some((e) => e.type === 'deploy.rolled-back'),
      ended.events.map((e) => e.type).join(','),
    );
    assert.equal((await versionAt(stack.proxyUrl, 'web.localhost')).version, 'v1');
    assert.equal((await status(stack)).active?.releaseId, v1.releaseId);
    assert.deepEqual(pidsOf(stack, v1.releaseId), v1Pids, 'the switch back used the running previous release');
  });

  it('lets a person roll back instantly within the resumed window', async () => {
    const stack = await startStack('60s');
    assert.equal((await cli(stack, 'deploy', 'web', '--version', 'v1')).code, 0);
    const v1 = (await status(stack)).active!;
    const v1Pids = pidsOf(stack, v1.releaseId);

    const deploy = await deployAndKillWhileWatching(stack, 'v2');
    assert.equal((await status(stack)).active?.version, 'v2');
    assert.ok(v1Pids.every(isAlive));

    const rollback = await cli(stack, 'rollback', 'web', '--json');
    assert.equal(rollback.code, 0, rollback.stderr + rollback.stdout);
    assert.equal((await versionAt(stack.proxyUrl, 'web.localhost')).version, 'v1');
    assert.deepEqual(pidsOf(stack, v1.releaseId), v1Pids, 'instant: the previous release was not started again');
    const ops = (await history(stack)).operations;
    const rolledBack = ops.find((o) => o.kind === 'rollback');
    assert.equal(rolledBack?.outcome, 'succeeded');
    const watched = ops.find((o) => o.id === deploy.id)!;
    assert.equal(watched.outcome, 'aborted');
    assert.match(watched.error?.message ?? '', /rolled back by .* during the post-promotion window/);
    assert.equal((await status(stack)).operation, null);
  });

  it('finishes the window after the restart: the deploy succeeds and the old release keeps its scale_down_delay', async () => {
    const stack = await startStack('4s');
    assert.equal((await cli(stack, 'deploy', 'web', '--version', 'v1')).code, 0);
    const v1 = (await status(stack)).active!;
    const v1Pids = pidsOf(stack, v1.releaseId);

    const deploy = await deployAndKillWhileWatching(stack, 'v2');
    const ended = await until('the deploy to end', async () => {
      const answer = await operationOf(stack, deploy.id);
      return answer.operation.outcome ? answer : null;
    });
    assert.equal(ended.operation.outcome, 'succeeded', JSON.stringify(ended.operation.error));
    assert.equal((await status(stack)).active?.version, 'v2');
    const v1Record = (await history(stack)).releases.find((r) => r.id === v1.releaseId)!;
    assert.equal(v1Record.state, 'standby');
    assert.ok(
      (v1Record.scaleDownAt ?? 0) > Date.now() + 5 * 60_000,
      'the old release stays for its scale_down_delay of 10 minutes',
    );
    assert.ok(v1Pids.every(isAlive), 'the old release still runs');

    const rollback = await cli(stack, 'rollback', 'web');
    assert.equal(rollback.code, 0, rollback.stderr);
    assert.equal((await versionAt(stack.proxyUrl, 'web.localhost')).version, 'v1');
    assert.deepEqual(pidsOf(stack, v1.releaseId), v1Pids, 'instant: the previous release was not started again');
  });
});
