import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EXIT } from '../../src/cli/exit-codes.js';
import type { WaveSummary } from '../../src/controller/deploy-wave-runner.js';
import type { ServiceStatus } from '../../src/controller/service-status.js';
import { findFreePort } from '../../src/runtime/process/free-port.js';
import type { EventRecord, OperationRecord } from '../../src/store/records.js';
import { downServerProcess, runCli, startServerProcess, waitForExit } from '../support/cli-process.js';
import { SAMPLE_APP } from '../support/cutover-harness.js';
import { sleep } from '../support/operations.js';

// Finding 16 of issue 12: `deploy --all` lived in the CLI, forced autoSwitch
// (which an approval-gated blue-green refuses) and left the rest of the wave
// unfollowed after one rejection. It is now a server-side operation
// (POST /api/v1/deploys): its waves are persisted, gates are respected (the
// wave waits for `approve`), a restart resumes it, a failure stops the later
// waves, and `cutover status` shows its progress.
describe('deploy --all as a server-side wave', () => {
  let dir: string;
  let adminPort: number;
  let server: ChildProcess | null = null;
  const cli = (...args: string[]) => runCli(args, { cwd: dir, timeoutMs: 90_000 });

  async function api<T>(url: string): Promise<T> {
    const token = fs.readFileSync(path.join(dir, '.cutover', 'admin-token'), 'utf8').trim();
    const response = await fetch(`http://127.0.0.1:${adminPort}${url}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(response.status, 200, url);
    return (await response.json()) as T;
  }
  const current = async () => (await api<{ deploy: WaveSummary | null }>('/api/v1/deploys/current')).deploy;
  const progressOf = (wave: WaveSummary | null, service: string) => wave?.services.find((s) => s.service === service);
  async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>): Promise<T> {
    const deadline = Date.now() + 45_000;
    for (;;) {
      const value = await probe();
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(150);
    }
  }

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-wave-'));
    const proxyPort = await findFreePort();
    adminPort = await findFreePort();
    const service = (name: string, instances: number, strategy: string, extra = '') => `  ${name}:
    hosts: [${name}.localhost]
    command: node server.js
    cwd: ${SAMPLE_APP}
    env: { APP_VERSION: "\${VERSION}", INSTANCE: "\${INSTANCE}" }
    instances: ${instances}
    health: { path: /health, interval: 200ms, healthy_threshold: 1 }
    strategy: ${strategy}
    drain_timeout: 1s
${extra}`;
    fs.writeFileSync(
      path.join(dir, 'cutover.yaml'),
      `server:
  proxy: 127.0.0.1:${proxyPort}
  admin: 127.0.0.1:${adminPort}
  state_dir: .cutover
services:
${service('web', 1, '{ type: blue-green, approval: true, timeout: 20s }')}${service('api', 2, '{ type: rolling, timeout: 4s }')}${service('core', 1, '{ type: blue-green, timeout: 20s }', '    critical: true\n')}`,
    );
    server = await startServerProcess('cutover.yaml', dir, adminPort);
  });

  after(async () => {
    await downServerProcess(server, dir);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('waits at the approval gate, resumes after a SIGKILL of the server, and goes on once approved', async () => {
    const started = await cli('deploy', '--all', '--version', 'v1', '--no-wait', '--json');
    assert.equal(started.code, EXIT.OK, started.stderr);
    const waveId = (JSON.parse(started.stdout) as { operation: OperationRecord }).operation.id;

    // Wave 1 (web, api side by side): api goes through; web waits for its approval, so the critical core waits too.
    const gated = await until('web waiting for its approval', async () => {
      const wave = await current();
      return progressOf(wave, 'web')?.progress === 'waiting' && progressOf(wave, 'api')?.progress === 'succeeded'
        ? wave
        : null;
    });
    assert.equal(progressOf(gated, 'core')?.progress, 'pending', 'the critical service waits for the wave before it');
    assert.equal(gated.wave, 1);
    const status = await cli('status');
    assert.match(status.stdout, /deploy v1 .*wave 1 of 2/);
    assert.match(status.stdout, /web\s+wave 1\s+waiting/);

    server!.kill('SIGKILL');
    await waitForExit(server!);
    server = await startServerProcess('cutover.yaml', dir, adminPort);

    // The wave goes on: web's deploy, aborted by the restart, is started again and waits for its approval again.
    const again = await until('web waiting again after the restart', async () => {
      const wave = await current();
      return progressOf(wave, 'web')?.progress === 'waiting' ? wave : null;
    });
    assert.equal(again.id, waveId);
    assert.notEqual(progressOf(again, 'web')?.operationId, progressOf(gated, 'web')?.operationId);
    assert.equal(progressOf(again, 'api')?.progress, 'succeeded');
    assert.equal(progressOf(again, 'core')?.progress, 'pending');

    const approved = await cli('approve', 'web');
    assert.equal(approved.code, EXIT.OK, approved.stderr);
    const finished = await until('the wave to end', async () => {
      const answer = await api<{ operation: OperationRecord; events: EventRecord[] }>(`/api/v1/operations/${waveId}`);
      return answer.operation.outcome ? answer : null;
    });
    assert.equal(finished.operation.outcome, 'succeeded', JSON.stringify(finished.operation.error));
    const types = finished.events.map((e) => e.type);
    for (const type of ['wave.started', 'wave.resumed', 'wave.service-restarted', 'wave.succeeded'])
      assert.ok(types.includes(type), types.join(','));
    const { services } = await api<{ services: ServiceStatus[] }>('/api/v1/services');
    assert.deepEqual(
      services.map((s) => [s.service, s.active?.version]),
      [
        ['web', 'v1'],
        ['api', 'v1'],
        ['core', 'v1'],
      ],
    );
    assert.equal(await current(), null);
  });

  it('a failing service stops the later waves; the CLI follows the wave and exits with its code', async () => {
    // Only api's second instance fails its health check: api fails, web (one instance) waits at its gate, core never starts.
    const result = await cli('deploy', '--all', '--version', 'v2-unhealthy-at-1');
    assert.equal(result.code, EXIT.FAILED, result.stdout + result.stderr);
    assert.match(result.stderr, /api: .*not started: core/);
    assert.match(result.stderr, /still running on their own: web/);
    // Each service's own events are followed along, prefixed with its name (issue 20, item 12): side by side,
    // api's failed health check and web's wait for approval read apart; the wave's own lines have no name.
    assert.match(result.stdout, /\] api +│ ✗ rolling update failed/);
    assert.match(result.stdout, /\] web +│ · .*waiting for approval/);
    assert.match(result.stdout, /\] {5}│ . wave 1 of 2: web, api/);
    const { services } = await api<{ services: ServiceStatus[] }>('/api/v1/services');
    assert.equal(services.find((s) => s.service === 'core')?.active?.version, 'v1');
    assert.equal(services.find((s) => s.service === 'api')?.active?.version, 'v1');
    const coreHistory = await api<{ operations: OperationRecord[] }>('/api/v1/services/core/history');
    assert.equal(
      coreHistory.operations.filter((o) => o.kind === 'deploy').length,
      1,
      'core was deployed once (v1), not for v2',
    );
    // An abort that did what it was asked exits 0 (issue 20, item 11); the deploy it stopped is aborted.
    const aborted = await cli('abort', 'web');
    assert.equal(aborted.code, EXIT.OK, aborted.stderr);
    const webHistory = await api<{ operations: OperationRecord[] }>('/api/v1/services/web/history');
    assert.equal(webHistory.operations.find((o) => o.kind === 'deploy')?.outcome, 'aborted');
  });
});
