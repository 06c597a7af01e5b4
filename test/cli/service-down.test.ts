import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { AdminClient } from '../../src/cli/admin-client.js';
import type { ServiceStatus } from '../../src/controller/service-status.js';
import { findFreePort } from '../../src/runtime/process/free-port.js';
import { downServerProcess, isAlive, runCli, startServerProcess } from '../support/cli-process.js';
import { SAMPLE_APP } from '../support/cutover-harness.js';
import { operate, versionAt } from '../support/operations.js';

// `cutover down <service>` as a user runs it: two services behind one server, one is stopped
// (its host answers 503, its processes are gone), the other answers on, and a deploy brings
// the stopped one back. What is not under test (deploys, status as data) goes through the admin
// API: each CLI run costs a Node start.
describe('cutover down <service> against a real server process', () => {
  let dir: string;
  let proxy: string;
  let adminPort: number;
  let server: ChildProcess | null = null;
  const cli = (...args: string[]) => runCli(args, { cwd: dir });
  let admin: AdminClient;
  const statusOf = (service: string): Promise<ServiceStatus> =>
    admin.request<ServiceStatus>('GET', `/api/v1/services/${service}`);
  const deploy = async (service: string, version: string): Promise<void> => {
    const { operation } = await operate(admin, `/api/v1/services/${service}/deploy`, { version, autoSwitch: true });
    assert.equal(operation.outcome, 'succeeded', JSON.stringify(operation.error));
  };
  /** What the proxy answers for a host: the status, and its own error code when it answered by itself. */
  const answerOf = async (host: string): Promise<{ status: number; code: string | null }> => {
    const response = await request(proxy, { headers: { host } });
    const body = (await response.body.json().catch(() => null)) as { error?: { code?: string } } | null;
    return { status: response.statusCode, code: body?.error?.code ?? null };
  };
  const pidsOf = (status: ServiceStatus): number[] =>
    [...(status.active?.instances ?? []), ...(status.standby?.instances ?? [])].map((i) => i.pid!);

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-service-down-'));
    const proxyPort = await findFreePort();
    adminPort = await findFreePort();
    proxy = `http://127.0.0.1:${proxyPort}`;
    fs.symlinkSync(SAMPLE_APP, path.join(dir, 'app'));
    // api's secret is set for the server only: the CLI's `down` and `down web` must not need it (issue 20, item 7).
    // Checks every 200 ms: the first one, as an instance starts, finds no port yet, and each of the four deploys
    // waited a whole 1 s interval for the next. The timeout, start period and deploy timeout are unchanged.
    const service = (name: string, env = '') => `  ${name}:
    hosts: [${name}.localhost]
    runtime: process
    command: node server.js
    cwd: ./app
    env: { APP_VERSION: "\${VERSION}"${env} }
    instances: 1
    health: { path: /health, interval: 200ms, timeout: 1s, healthy_threshold: 1, start_period: 10s }
    strategy: { type: blue-green, timeout: 10s }
    drain_timeout: 2s
`;
    fs.writeFileSync(
      path.join(dir, 'cutover.yaml'),
      `server:
  proxy: 127.0.0.1:${proxyPort}
  admin: 127.0.0.1:${adminPort}
  state_dir: .cutover
services:
${service('web')}${service('api', ', API_KEY: "${API_KEY}"')}`,
    );
    server = await startServerProcess('cutover.yaml', dir, adminPort, { API_KEY: 'not-for-the-cli' });
    const token = fs.readFileSync(path.join(dir, '.cutover', 'admin-token'), 'utf8').trim();
    admin = new AdminClient({ url: `http://127.0.0.1:${adminPort}`, token });
  });

  after(async () => {
    // Without API_KEY: a running server names the services it stops.
    await downServerProcess(server, dir);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('stops one service: 503 on its host, its processes gone, the other serves on; a deploy brings it back', async () => {
    const neverDeployed = await answerOf('web.localhost');
    assert.deepEqual(neverDeployed, { status: 503, code: 'NO_UPSTREAM' });
    await deploy('web', 'v1');
    await deploy('web', 'v2');
    await deploy('api', 'a1');
    const web = await statusOf('web');
    assert.equal(web.standby?.version, 'v1', 'v1 is kept for instant rollback');
    const webPids = pidsOf(web);
    const apiPids = pidsOf(await statusOf('api'));
    assert.equal(webPids.length, 2);
    assert.ok([...webPids, ...apiPids].every(isAlive));

    const unasked = await cli('down', 'web');
    assert.equal(unasked.code, 2, 'no terminal and no --yes: refused (exit 2)');
    assert.match(unasked.stderr, /cutover down web --yes/);
    const unknown = await cli('down', 'nope', '--yes');
    assert.equal(unknown.code, 2, unknown.stderr);
    assert.match(unknown.stderr, /SERVICE_NOT_FOUND: no service 'nope'/);
    assert.deepEqual(await versionAt(proxy, 'web.localhost'), { status: 200, version: 'v2' }, 'nothing changed');

    const down = await cli('down', 'web', '--yes');
    assert.equal(down.code, 0, down.stderr);
    assert.match(down.stdout, /traffic to web stopped/);
    assert.match(down.stdout, /done: down op-\S+ succeeded/);
    assert.deepEqual(await answerOf('web.localhost'), neverDeployed, 'the answer of a service never deployed');
    assert.deepEqual(await versionAt(proxy, 'api.localhost'), { status: 200, version: 'a1' });
    assert.deepEqual(webPids.filter(isAlive), [], 'the active and the standby instance of web are gone');
    assert.ok(apiPids.every(isAlive), 'api kept its process');

    const stopped = await statusOf('web');
    assert.equal(stopped.active, null);
    assert.equal(stopped.standby, null);
    assert.equal(stopped.recent[0]?.kind, 'down');
    assert.match((await cli('status', 'web')).stdout, /stopped by `cutover down`/);

    await deploy('web', 'v3');
    assert.deepEqual(await versionAt(proxy, 'web.localhost'), { status: 200, version: 'v3' });
    assert.deepEqual(pidsOf(await statusOf('api')), apiPids, 'api was never restarted');
  });

  it('without a server, a single-service stop says the server must run (exit 5)', async () => {
    const port = await findFreePort();
    const result = await runCli(['down', 'web', '--yes'], {
      cwd: dir,
      env: { CUTOVER_URL: `http://127.0.0.1:${port}`, CUTOVER_TOKEN: 'x' },
    });
    assert.equal(result.code, 5, result.stderr);
    assert.match(result.stderr, /stopping one service needs the server/);
  });
});
