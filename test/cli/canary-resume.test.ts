import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { request } from 'undici';
import { resumeCommands } from '../../src/controller/canary-runner.js';
import type { ServiceStatus } from '../../src/controller/service-status.js';
import type { CanaryState } from '../../src/core/canary-strategy.js';
import { findFreePort } from '../../src/runtime/process/free-port.js';
import type { EventRecord, OperationRecord } from '../../src/store/records.js';
import { downServerProcess, isAlive, runCli, startServerProcess, waitForExit } from '../support/cli-process.js';
import { SAMPLE_APP } from '../support/cutover-harness.js';
import { sleep } from '../support/operations.js';

// What a resumed rollout re-arms, from its persisted state alone (no I/O).
describe('resuming a canary from its persisted state', () => {
  const state: CanaryState = {
    phase: 'stepping',
    releaseId: 'shop-2',
    stableReleaseId: 'shop-1',
    slot: 'green',
    steps: [
      { weight: 5, pauseMs: 1000, analysis: [] },
      { weight: 25, pauseMs: 8000, analysis: ['errors'] },
      { weight: 100, pauseMs: 0, analysis: [] },
    ],
    stepIndex: 1,
    weight: 25,
    stepEndsAt: 50_000,
    remainingMs: null,
    pausedBy: null,
    deadline: 0,
    backgroundAnalysis: ['judge'],
    postPromotion: null,
    promoted: false,
    error: null,
  };

  it('restarts the background and step analysis and ends the step when it was due to end; never sets a weight', () => {
    assert.deepEqual(resumeCommands(state), [
      { type: 'start-analysis', scope: 'background', templates: ['judge'], stepIndex: 1 },
      { type: 'start-analysis', scope: 'step', templates: ['errors'], stepIndex: 1 },
      { type: 'schedule-step-end', stepIndex: 1, at: 50_000 },
    ]);
  });

  it('keeps a paused rollout paused, and leaves an inconclusive verdict to a person', () => {
    const paused = { ...state, phase: 'paused' as const, stepEndsAt: null, remainingMs: 3000 };
    assert.deepEqual(
      resumeCommands({ ...paused, pausedBy: 'user' }).map((c) => c.type),
      ['start-analysis', 'start-analysis'],
    );
    assert.deepEqual(
      resumeCommands({ ...paused, pausedBy: 'step' }).map((c) => c.type),
      ['start-analysis', 'start-analysis'],
    );
    assert.deepEqual(resumeCommands({ ...paused, pausedBy: 'inconclusive' }), [
      { type: 'start-analysis', scope: 'background', templates: ['judge'], stepIndex: 1 },
    ]);
  });

  it('judges a step that was being concluded at once, on analysis that has measured nothing yet', () => {
    assert.deepEqual(resumeCommands({ ...state, phase: 'concluding', stepEndsAt: null, backgroundAnalysis: [] }), [
      { type: 'start-analysis', scope: 'step', templates: ['errors'], stepIndex: 1 },
      { type: 'conclude-step', stepIndex: 1 },
    ]);
  });
});

// Crash safety of a canary with `on_restart: resume` (the default): the
// controller is SIGKILLed while the canary holds 25% of the traffic. After the
// restart the rollout goes on where it stopped: the same canary process serves
// the same 25% of users (never more), the step ends when it would have ended
// without the crash, the deploy lock is still the rollout's, and it finishes
// on its own with v2 serving everyone.
describe('SIGKILL of the server during a canary at 25%, with on_restart: resume', () => {
  let dir: string;
  let proxyPort: number;
  let adminPort: number;
  let server: ChildProcess | null = null;
  const cli = (...args: string[]) => runCli(args, { cwd: dir });
  const api = async <T>(route: string): Promise<T> => {
    const token = fs.readFileSync(path.join(dir, '.cutover', 'admin-token'), 'utf8').trim();
    const response = await request(`http://127.0.0.1:${adminPort}/api/v1${route}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    return (await response.body.json()) as T;
  };
  const answerFor = async (user: string): Promise<{ version: string; pid: number }> => {
    const response = await request(`http://127.0.0.1:${proxyPort}/`, {
      headers: { host: 'shop.localhost', 'x-user-id': user },
    });
    return (await response.body.json()) as { version: string; pid: number };
  };
  const users = Array.from({ length: 200 }, (_, i) => `u${i}`);
  const versionsOfUsers = async (): Promise<string[]> =>
    (await Promise.all(users.map(answerFor))).map((a) => a.version);
  /** Every instance pid the store knows of, to leave no process behind whatever happens. */
  const storedPids = (): number[] => {
    const file = path.join(dir, '.cutover', 'cutover.db');
    if (!fs.existsSync(file)) return [];
    const db = new Database(file, { readonly: true });
    try {
      return (db.prepare('SELECT info_json FROM instances').all() as { info_json: string }[])
        .map((row) => (JSON.parse(row.info_json) as { pid: number | null }).pid)
        .filter((pid): pid is number => pid !== null);
    } finally {
      db.close();
    }
  };
  const seenPids = new Set<number>();

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-canary-resume-'));
    proxyPort = await findFreePort();
    adminPort = await findFreePort();
    // on_restart is not written: resume is the default.
    fs.writeFileSync(
      path.join(dir, 'cutover.yaml'),
      `server:
  proxy: 127.0.0.1:${proxyPort}
  admin: 127.0.0.1:${adminPort}
  state_dir: .cutover
services:
  shop:
    hosts: [shop.localhost]
    default: true
    command: node server.js
    cwd: ${SAMPLE_APP}
    env: { APP_VERSION: "\${VERSION}" }
    instances: 2
    health: { path: /health, interval: 200ms }
    strategy:
      type: canary
      steps: [ { weight: 5, pause: 1s }, { weight: 25, pause: 18s }, { weight: 100 } ]
      canary_instances: 1
      stickiness: { by: header, name: X-User-Id }
      analysis: [alive]
      timeout: 10s
    drain_timeout: 1s
analysis:
  alive:
    metrics:
      - { name: check, provider: { command: { command: "echo 0" } }, interval: 1s, failure_condition: result > 0 }
`,
    );
    server = await startServerProcess('cutover.yaml', dir, adminPort);
    const v1 = await cli('deploy', 'shop', '--version', 'v1');
    assert.equal(v1.code, 0, v1.stderr);
  });

  after(async () => {
    for (const pid of storedPids()) seenPids.add(pid);
    await downServerProcess(server, dir);
    // `cutover down` stops the instances; after a failed assertion between the kill and the restart it may find none.
    for (const pid of seenPids) {
      if (!isAlive(pid)) continue;
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('resumes at the same step and weight with the same canary process and the same users, then finishes', async () => {
    const started = await cli('deploy', 'shop', '--version', 'v2', '--no-wait', '--json');
    assert.equal(started.code, 0, started.stderr);
    const operationId = (JSON.parse(started.stdout) as { operation: OperationRecord }).operation.id;
    let s: ServiceStatus | null = null;
    for (let i = 0; i < 100; i++) {
      s = await api<ServiceStatus>('/services/shop');
      if (s.canary?.weight === 25) break;
      await sleep(100);
    }
    assert.equal(s?.canary?.weight, 25);
    // Into the step a while, so that a step timer started anew after the restart would end visibly late.
    await sleep(2500);
    const before = await versionsOfUsers();
    const onCanary = before.filter((v) => v === 'v2').length;
    assert.ok(onCanary > 20 && onCanary < 80, `about 25% of 200 users on the canary, got ${onCanary}`);

    const db = new Database(path.join(dir, '.cutover', 'cutover.db'), { readonly: true });
    const canaryPids = (
      db.prepare('SELECT info_json FROM instances WHERE release_id = ?').all(s.canary.releaseId) as {
        info_json: string;
      }[]
    ).map((row) => (JSON.parse(row.info_json) as { pid: number }).pid);
    const persisted = JSON.parse(
      (db.prepare('SELECT state_json FROM operations WHERE id = ?').get(operationId) as { state_json: string })
        .state_json,
    ) as CanaryState;
    db.close();
    for (const pid of storedPids()) seenPids.add(pid);
    assert.equal(canaryPids.length, 1);
    assert.equal(persisted.weight, 25);
    assert.equal(persisted.phase, 'stepping');
    const stepEndsAt = persisted.stepEndsAt!;

    server!.kill('SIGKILL');
    await waitForExit(server!);
    const restartAt = Date.now();
    const restarting = startServerProcess('cutover.yaml', dir, adminPort);
    // Traffic is served again soon after the restart (the 2 s bound of the issue is asserted for blue-green in
    // cli-and-restart.test.ts; here a loaded CI machine gets more room).
    let servedAt: number | null = null;
    while (servedAt === null && Date.now() - restartAt < 10_000) {
      try {
        await answerFor('u0');
        servedAt = Date.now();
      } catch {
        await sleep(20);
      }
    }
    server = await restarting;
    assert.ok(
      servedAt !== null && servedAt - restartAt < 5000,
      `traffic served ${servedAt === null ? 'never' : `${servedAt - restartAt} ms`} after the restart`,
    );

    // First, while the step surely runs (the checks below take seconds on a loaded machine, and a deploy
    // accepted after the canary finished by itself would prove nothing): the resumed rollout holds the lock.
    const locked = await cli('deploy', 'shop', '--version', 'v3', '--no-wait');
    assert.notEqual(
      locked.code,
      0,
      `a second deploy is refused while the resumed canary runs: ${locked.stdout}${locked.stderr}; status ${JSON.stringify(await api('/services/shop'))}`,
    );
    assert.match(locked.stderr + locked.stdout, /DEPLOY_LOCKED/);

    // The same step at the same weight, on the same canary process, with the same users on it.
    const resumed = JSON.parse((await cli('status', 'shop', '--json')).stdout) as ServiceStatus;
    assert.equal(resumed.canary?.weight, 25);
    assert.equal(resumed.canary?.step, 2);
    assert.equal(resumed.canary?.steps, 3);
    assert.deepEqual(
      resumed.canary?.instances.map((i) => i.pid),
      canaryPids,
      'the canary process was adopted, not restarted',
    );
    assert.equal(resumed.operation?.id, operationId);
    assert.equal(resumed.lock?.operationId, operationId, 'the resumed rollout still holds the deploy lock');
    const after = await versionsOfUsers();
    assert.deepEqual(after, before, 'every user is on the side they were on before the kill');
    const pidsOnCanary = new Set(
      (await Promise.all(users.map(answerFor))).filter((a) => a.version === 'v2').map((a) => a.pid),
    );
    assert.deepEqual([...pidsOnCanary], canaryPids);

    // It goes on by itself: never above 25% until the step's time, as persisted before the kill, is up.
    let operation: OperationRecord | null = null;
    let events: EventRecord[] = [];
    for (let i = 0; i < 300; i++) {
      const status = await api<ServiceStatus>('/services/shop');
      if (status.canary) assert.ok(status.canary.weight <= 25, `weight ${status.canary.weight} after the restart`);
      ({ operation, events } = await api<{ operation: OperationRecord; events: EventRecord[] }>(
        `/operations/${operationId}`,
      ));
      if (operation.outcome) break;
      await sleep(100);
    }
    assert.equal(operation?.outcome, 'succeeded', JSON.stringify(operation));
    const resumedEvent = events.find((e) => e.type === 'canary.resumed');
    assert.match(
      resumedEvent?.message ?? '',
      /^resumed after a controller restart at 25% \(step 2\/3, \d+ s left of the step\)$/,
    );
    const promotedAt = events.find((e) => e.type === 'canary.promoted')!.at;
    assert.ok(promotedAt >= stepEndsAt, 'the step was not cut short');
    assert.ok(
      promotedAt - stepEndsAt < 5000,
      `the step ended ${promotedAt - stepEndsAt} ms after its persisted end: its timer was re-armed from it, not started anew`,
    );
    const weights = events
      .filter((e) => e.type === 'canary.weight' && e.at > restartAt)
      .map((e) => (e.data as { weight: number }).weight);
    assert.deepEqual(
      weights,
      [],
      'no weight was set after the restart: 25% was restored as persisted, then the canary was promoted',
    );
    assert.ok(
      events.some((e) => e.type === 'analysis.measurement' && e.at > restartAt),
      'the background analysis runs again after the restart',
    );

    const final = await api<ServiceStatus>('/services/shop');
    assert.equal(final.active?.version, 'v2');
    assert.equal(final.canary, null);
    assert.equal(final.lock, null);
    assert.deepEqual([...new Set(await versionsOfUsers())], ['v2']);
  });

  it('falls back to the safe abort when the canary process did not survive the restart', async () => {
    const started = await cli('deploy', 'shop', '--version', 'v3', '--no-wait', '--json');
    assert.equal(started.code, 0, started.stderr);
    const operationId = (JSON.parse(started.stdout) as { operation: OperationRecord }).operation.id;
    let s: ServiceStatus | null = null;
    for (let i = 0; i < 100; i++) {
      s = await api<ServiceStatus>('/services/shop');
      if (s.canary?.weight === 25) break;
      await sleep(100);
    }
    assert.equal(s?.canary?.weight, 25);
    const canaryPids = s.canary.instances.map((i) => i.pid!);
    for (const pid of storedPids()) seenPids.add(pid);

    server!.kill('SIGKILL');
    await waitForExit(server!);
    for (const pid of canaryPids) process.kill(-pid, 'SIGKILL');
    for (let i = 0; i < 60 && canaryPids.some(isAlive); i++) await sleep(50);
    server = await startServerProcess('cutover.yaml', dir, adminPort);

    assert.deepEqual([...new Set(await versionsOfUsers())], ['v2'], 'every client is on the stable release');
    const { operation, events } = await api<{ operation: OperationRecord; events: EventRecord[] }>(
      `/operations/${operationId}`,
    );
    assert.equal(operation.outcome, 'aborted');
    assert.match(operation.error?.message ?? '', /controller stopped during the deploy/);
    assert.match(
      events.find((e) => e.type === 'canary.not-resumed')?.message ?? '',
      /1 of its 1 canary instance\(s\) did not survive the restart; it is aborted instead/,
    );
    const status = await api<ServiceStatus>('/services/shop');
    assert.equal(status.canary, null);
    assert.equal(status.lock, null);
    assert.equal(status.active?.version, 'v2');
  });
});
