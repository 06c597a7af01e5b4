import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { runCli } from '../support/cli-process.js';
import { SAMPLE_APP, startHarness, type Harness } from '../support/cutover-harness.js';
import { operate } from '../support/operations.js';

/**
 * Issue 12, finding 1: `version` was only checked for whitespace, then spliced
 * into `${VERSION}` of a command run by `/bin/sh -c`, so
 * `{"version":"v3$(id > pwned.txt)"}` ran `id` as the server's user. CI jobs
 * deploy branch names, and git allows `$`, `(`, `;` and backticks in them.
 * Now a version follows one grammar everywhere (VERSION_INVALID otherwise),
 * and a command runs without a shell, so even a value that got through could
 * never be read as shell syntax.
 */
describe('shell injection through the deploy version', () => {
  let h: Harness;
  let trap: string;
  /** Every payload tries to create a file in `trap`; none may. */
  const hostile = (name: string): string[] => [
    `v3$(touch ${trap}/${name}-subst)`,
    `v3\`touch ${trap}/${name}-backtick\``,
    `v3;touch ${trap}/${name}-semicolon`,
    `v3|touch ${trap}/${name}-pipe`,
    `v3&&touch ${trap}/${name}-and`,
    `v3\ntouch ${trap}/${name}-newline`,
    `../../${name}-traversal`,
    `-v3`,
    `.hidden`,
    `v3'"`,
    '',
    'x'.repeat(129),
  ];

  before(async () => {
    trap = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-trap-'));
    h = await startHarness({
      instances: 1,
      strategy: '{ type: blue-green, auto_switch: true, timeout: 20s }',
      extraServiceYaml: [
        '  tagged:',
        '    hosts: [tagged.localhost]',
        '    command: node server.js --label=${VERSION} --port ${PORT}',
        `    cwd: ${SAMPLE_APP}`,
        '    env: { APP_VERSION: "${VERSION}" }',
        '    health: { path: /health, interval: 200ms, timeout: 1s, healthy_threshold: 1, start_period: 5s }',
        '    strategy: { type: blue-green, auto_switch: true, timeout: 20s }',
        '',
      ].join('\n'),
    });
  });

  after(async () => {
    await h.close();
    fs.rmSync(trap, { recursive: true, force: true });
  });

  it('the admin API refuses every version outside the grammar with 400 VERSION_INVALID naming the rule', async () => {
    for (const version of hostile('api')) {
      const response = await request(`${h.server.adminUrl}/api/v1/services/tagged/deploy`, {
        method: 'POST',
        headers: { authorization: `Bearer ${h.server.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ version, autoSwitch: true }),
      });
      const answer = (await response.body.json()) as { error?: { code: string; message: string; hint: string } };
      assert.equal(response.statusCode, 400, JSON.stringify(version));
      assert.equal(answer.error?.code, 'VERSION_INVALID', JSON.stringify(version));
      assert.match(answer.error?.message ?? '', /OCI image tag grammar/);
    }
    const history = await h.client.request<{ releases: unknown[] }>('GET', '/api/v1/services/tagged/history');
    assert.deepEqual(history.releases, [], 'no release was created');
  });

  it('a multi-service deploy (POST /api/v1/deploys) refuses them the same way, before any operation exists', async () => {
    for (const version of hostile('wave')) {
      const response = await request(`${h.server.adminUrl}/api/v1/deploys`, {
        method: 'POST',
        headers: { authorization: `Bearer ${h.server.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ version, services: ['tagged'] }),
      });
      const answer = (await response.body.json()) as { error?: { code: string; message: string } };
      assert.equal(response.statusCode, 400, JSON.stringify(version));
      assert.equal(answer.error?.code, 'VERSION_INVALID', JSON.stringify(version));
      assert.match(answer.error?.message ?? '', /OCI image tag grammar/);
    }
    const current = await h.client.request<{ deploy: unknown }>('GET', '/api/v1/deploys/current');
    assert.equal(current.deploy, null, 'no wave was started');
    const history = await h.client.request<{ releases: unknown[] }>('GET', '/api/v1/services/tagged/history');
    assert.deepEqual(history.releases, [], 'no release was created');
    assert.deepEqual(fs.readdirSync(trap), [], 'no payload ran');
  });

  it('a version the grammar allows reaches the app as one argument, with no shell in between, and nothing else runs', async () => {
    const { operation } = await operate(h.client, '/api/v1/services/tagged/deploy', {
      version: 'v1.2-rc_3',
      autoSwitch: true,
    });
    assert.equal(operation.outcome, 'succeeded', JSON.stringify(operation.error));
    const status = await h.client.request<{ active: { instances: { pid: number | null }[] } | null }>(
      'GET',
      '/api/v1/services/tagged',
    );
    const pid = status.active?.instances[0]?.pid;
    assert.ok(pid, 'the instance has a pid');
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    assert.equal(path.basename(argv[0] ?? ''), 'node', `the recorded pid is the app itself: ${argv.join(' ')}`);
    assert.equal(argv[1], 'server.js');
    assert.equal(argv[2], '--label=v1.2-rc_3');
    assert.equal(argv[3], '--port');
    assert.match(argv[4] ?? '', /^\d+$/);
    // A started deploy is past any point where a spliced payload would have run.
    assert.deepEqual(fs.readdirSync(trap), [], 'no payload ran');
  });

  it('rollback --to with a hostile string finds no release and runs nothing', async () => {
    const response = await request(`${h.server.adminUrl}/api/v1/services/tagged/rollback`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.server.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ to: `$(touch ${trap}/rollback)` }),
    });
    const answer = (await response.body.json()) as { error?: { code: string } };
    assert.equal(response.statusCode, 404);
    assert.equal(answer.error?.code, 'RELEASE_NOT_FOUND');
    assert.deepEqual(fs.readdirSync(trap), []);
  });

  it('the CLI refuses a bad --version before it contacts the server', async () => {
    let connections = 0;
    const listener = net.createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const { port } = listener.address() as net.AddressInfo;
    try {
      const env = { CUTOVER_URL: `http://127.0.0.1:${port}`, CUTOVER_TOKEN: 'not-used' };
      for (const args of [
        ['deploy', 'tagged'],
        ['deploy', '--all'],
      ]) {
        const result = await runCli([...args, '--version', `v3$(touch ${trap}/cli)`], { cwd: trap, env });
        assert.equal(result.code, 2, `a usage error (exit 2): ${result.stderr}`);
        assert.match(result.stderr, /VERSION_INVALID: invalid version .*OCI image tag grammar/);
      }
      assert.equal(connections, 0, 'the server was never contacted');
      assert.deepEqual(fs.readdirSync(trap), []);
    } finally {
      await new Promise((resolve) => listener.close(resolve));
    }
  });
});
