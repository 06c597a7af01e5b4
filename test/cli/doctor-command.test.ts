import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLI, SAMPLE_APP } from '../support/cutover-harness.js';
import { runCli } from '../support/cli-process.js';
import { findFreePort } from '../../src/runtime/process/free-port.js';

/** `cutover doctor` on real files, ports and users: each problem is reported with a fix, and nothing is changed. */
describe('cutover doctor', () => {
  let dir: string;
  const config = async (stateDir: string, extra = ''): Promise<string> => `server:
  proxy: 127.0.0.1:${await findFreePort()}
  admin: 127.0.0.1:${await findFreePort()}
  state_dir: ${stateDir}
services:
  web:
    command: node server.js
    cwd: ${SAMPLE_APP}
${extra}`;
  const doctor = (file: string, json = false) =>
    runCli([...(json ? ['--json'] : []), '--config', file, 'doctor'], { cwd: dir });

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-doctor-'));
    fs.chmodSync(dir, 0o755);
  });
  after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('passes a good setup, warning that no server runs', async () => {
    const file = path.join(dir, 'good.yaml');
    fs.writeFileSync(file, await config(path.join(dir, 'state-good')));
    const result = await doctor(file, true);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const { checks } = JSON.parse(result.stdout) as { checks: { id: string; status: string; fix?: string }[] };
    const byId = Object.fromEntries(checks.map((c) => [c.id, c]));
    assert.equal(byId.config?.status, 'ok');
    assert.equal(byId['state-dir']?.status, 'ok');
    assert.equal(byId['runtime.process.web']?.status, 'ok');
    assert.equal(byId['router.proxy']?.status, 'ok');
    assert.equal(byId.server?.status, 'warn');
    assert.match(byId.server?.fix ?? '', /cutover server --config/);
    assert.equal(fs.existsSync(path.join(dir, 'state-good')), false, 'the doctor created nothing');
  });

  it('reports a broken config with the field, and how to fix it', async () => {
    const file = path.join(dir, 'broken.yaml');
    fs.writeFileSync(
      file,
      (await config(path.join(dir, 'state'))).replace(
        'command: node server.js',
        'command: node server.js\n    instances: many',
      ),
    );
    const result = await doctor(file);
    assert.equal(result.code, 1);
    assert.match(
      result.stdout,
      /✗ config\s+broken\.yaml has 1 problem:\n\s+services\.web\.instances: expected a whole number ≥ 1, got "many" \(broken\.yaml:8:16\)/,
    );
    assert.match(result.stdout, /fix: Edit .*broken\.yaml at the places listed/);
  });

  it('counts each wrong field of a broken config in its summary', async () => {
    const file = path.join(dir, 'three-wrong.yaml');
    fs.writeFileSync(
      file,
      (await config(path.join(dir, 'state'))).replace(
        'command: node server.js',
        'command: node server.js\n    instances: many\n    drain_timeout: soon\n    stop_grace_period: never',
      ),
    );
    const result = await doctor(file);
    assert.equal(result.code, 1);
    assert.match(result.stdout, /three-wrong\.yaml has 3 problems:/);
    assert.match(result.stdout, /\n3 problems\n/, `the summary counts what the check lists:\n${result.stdout}`);
  });

  it('reports a state directory this user cannot write, with the fix', async () => {
    // Root may write anywhere: run the doctor as `nobody` against a directory only root may write.
    const locked = path.join(dir, 'locked-state');
    fs.mkdirSync(locked, { mode: 0o700 });
    const file = path.join(dir, 'locked.yaml');
    fs.writeFileSync(file, await config(locked));
    const asNobody = process.getuid?.() === 0;
    const result = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = spawn(process.execPath, [CLI, '--config', file, 'doctor'], {
        cwd: dir,
        env: { PATH: process.env.PATH, NO_COLOR: '1', HOME: '/tmp' },
        stdio: ['ignore', 'pipe', 'pipe'],
        ...(asNobody ? { uid: 65534, gid: 65534 } : {}),
      });
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
      });
      child.on('close', (code) => resolve({ code, stdout }));
    });
    if (!asNobody) fs.chmodSync(locked, 0o500);
    assert.equal(result.code, 1, result.stdout);
    assert.match(
      result.stdout,
      new RegExp(`✗ state-dir\\s+${locked.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not writable: EACCES`),
    );
    assert.match(result.stdout, /fix: Make it writable by this user/);
  });

  it('reports a missing Docker daemon for a service that runs on Docker, with the fix', async () => {
    const file = path.join(dir, 'docker.yaml');
    const socket = path.join(dir, 'no-daemon.sock');
    const text = (
      await config(
        path.join(dir, 'state-docker'),
        `  shop:
    runtime: docker
    image: shop:\${VERSION}
    hosts: [shop.localhost]
`,
      )
    ).replace(`  state_dir:`, `  docker_host: unix://${socket}\n  state_dir:`);
    fs.writeFileSync(file, text);
    const result = await doctor(file);
    assert.equal(result.code, 1, result.stdout);
    assert.match(
      result.stdout,
      new RegExp(
        `✗ runtime\\.docker\\s+no Docker daemon at ${socket.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(ENOENT\\)`,
      ),
    );
    assert.match(result.stdout, /fix: Start the Docker daemon .* or point server\.docker_host/);
    assert.match(result.stdout, /✓ runtime\.process\.web/, 'the process service is checked as before');
  });

  it('reports a state directory under a file, and a command that is not installed', async () => {
    const blocker = path.join(dir, 'a-file');
    fs.writeFileSync(blocker, '');
    const file = path.join(dir, 'notdir.yaml');
    fs.writeFileSync(
      file,
      (await config(path.join(blocker, 'state'))).replace(
        'command: node server.js',
        'command: no-such-program --serve',
      ),
    );
    const result = await doctor(file);
    assert.equal(result.code, 1);
    assert.match(result.stdout, /✗ state-dir\s+.*is not writable: ENOTDIR/);
    assert.match(result.stdout, /✗ runtime\.process\.web\s+web: no-such-program is not found on PATH/);
  });
});
