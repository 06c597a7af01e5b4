import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AdminClient } from '../../src/cli/admin-client.js';
import type { ServiceStatus } from '../../src/controller/service-status.js';
import { findFreePort } from '../../src/runtime/process/free-port.js';
import { downServerProcess, runCli, startServerProcess } from '../support/cli-process.js';
import { SAMPLE_APP } from '../support/cutover-harness.js';
import { eventually } from '../support/eventually.js';
import { operate, versionAt } from '../support/operations.js';

// Issue 20, item 6: a service added to cutover.yaml is deployable after `cutover reload` (or SIGHUP),
// without a restart of the server; a file with an error changes nothing.
describe('cutover reload against a real server process', () => {
  let dir: string;
  let proxy: string;
  let adminPort: number;
  let proxyPort: number;
  let server: ChildProcess | null = null;
  let admin: AdminClient;
  const cli = (...args: string[]) => runCli(args, { cwd: dir });
  const service = (name: string, healthInterval = '1s') => `  ${name}:
    hosts: [${name}.localhost]
    runtime: process
    command: node server.js
    cwd: ./app
    env: { APP_VERSION: "\${VERSION}" }
    instances: 1
    health: { path: /health, interval: ${healthInterval}, timeout: 1s, healthy_threshold: 1, start_period: 10s }
    strategy: { type: blue-green, timeout: 10s }
    drain_timeout: 1s
`;
  const writeConfig = (services: string, extra = ''): void => {
    fs.writeFileSync(
      path.join(dir, 'cutover.yaml'),
      `server:\n  proxy: 127.0.0.1:${proxyPort}\n  admin: 127.0.0.1:${adminPort}\n  state_dir: .cutover\nservices:\n${services}${extra}`,
    );
  };
  const deploy = async (name: string, version: string): Promise<void> => {
    const { operation } = await operate(admin, `/api/v1/services/${name}/deploy`, { version, autoSwitch: true });
    assert.equal(operation.outcome, 'succeeded', JSON.stringify(operation.error));
  };

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-reload-'));
    proxyPort = await findFreePort();
    adminPort = await findFreePort();
    proxy = `http://127.0.0.1:${proxyPort}`;
    fs.symlinkSync(SAMPLE_APP, path.join(dir, 'app'));
    writeConfig(service('web'));
    server = await startServerProcess('cutover.yaml', dir, adminPort);
    const token = fs.readFileSync(path.join(dir, '.cutover', 'admin-token'), 'utf8').trim();
    admin = new AdminClient({ url: `http://127.0.0.1:${adminPort}`, token });
    await deploy('web', 'v1');
  });

  after(async () => {
    await downServerProcess(server, dir);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('adds a service and a template, says what the next deploy takes, and the new service deploys', async () => {
    await assert.rejects(admin.request('GET', '/api/v1/services/shop'), { code: 'SERVICE_NOT_FOUND' });
    writeConfig(
      service('web', '2s') + service('shop'),
      `analysis:\n  errors:\n    metrics:\n      - { name: error-rate, provider: { builtin: error-rate }, interval: 10s, failure_condition: result > 0.05 }\n`,
    );
    const reloaded = await cli('reload');
    assert.equal(reloaded.code, 0, reloaded.stderr);
    assert.match(reloaded.stdout, /added \(deployable now\): shop/);
    assert.match(reloaded.stdout, /changed web: (default, )?health \(the next deploy uses them/);
    assert.match(reloaded.stdout, /analysis templates: \+errors/);
    await deploy('shop', 's1');
    assert.equal((await versionAt(proxy, 'shop.localhost')).version, 's1');
    assert.equal((await versionAt(proxy, 'web.localhost')).version, 'v1', 'web serves on, untouched');
    const again = await cli('reload');
    assert.match(again.stdout, /no change: the server already runs this file/);
  });

  it('refuses a file with an error whole, naming the field; what runs is unchanged', async () => {
    writeConfig(service('web') + service('shop') + service('cart').replace('instances: 1', 'instances: -3'));
    const refused = await cli('reload');
    assert.equal(refused.code, 2, 'a config error is a usage error (exit 2)');
    assert.match(refused.stderr, /CONFIG_INVALID/);
    assert.match(refused.stderr, /services\.cart\.instances/);
    await assert.rejects(admin.request('GET', '/api/v1/services/cart'), { code: 'SERVICE_NOT_FOUND' });
    const web = await admin.request<ServiceStatus>('GET', '/api/v1/services/web');
    assert.equal(web.active?.version, 'v1');
  });

  it('says what needs a restart of the server and keeps it as it runs', async () => {
    const otherProxy = await findFreePort();
    fs.writeFileSync(
      path.join(dir, 'cutover.yaml'),
      fs
        .readFileSync(path.join(dir, 'cutover.yaml'), 'utf8')
        .replace(`proxy: 127.0.0.1:${proxyPort}`, `proxy: 127.0.0.1:${otherProxy}`)
        .replace(/ {2}cart:[\s\S]*$/, ''),
    );
    const reloaded = await cli('reload');
    assert.equal(reloaded.code, 0, reloaded.stderr);
    assert.match(reloaded.stdout, /needs a restart of cutover server: server\.proxy/);
    assert.equal((await versionAt(proxy, 'web.localhost')).version, 'v1', 'the proxy still listens where it did');
  });

  it('reloads on SIGHUP, and any command notices a file the server does not run yet', async () => {
    writeConfig(service('web') + service('shop') + service('cart'));
    const status = await cli('status', 'web');
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stderr, /cutover\.yaml changed since the server loaded it: run `cutover reload`/);
    server!.kill('SIGHUP');
    await eventually(
      async () => (await admin.request<ServiceStatus>('GET', '/api/v1/services/cart').catch(() => null)) !== null,
      'the server knows cart after SIGHUP',
    );
    const quiet = await cli('status', 'web');
    assert.doesNotMatch(quiet.stderr, /changed since the server loaded it/);
  });
});
