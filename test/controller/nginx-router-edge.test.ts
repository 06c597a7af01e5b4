import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { findFreePort } from '../../src/runtime/process/free-port.js';
import { downServerProcess, runCli, startServerProcess } from '../support/cli-process.js';
import { SAMPLE_APP } from '../support/cutover-harness.js';
import { startNginxServer, type RunningNginxServer } from '../support/nginx-server.js';
import { TestCertificateAuthority, type IssuedCertificate } from '../support/test-certificates.js';

// The edge through a real `cutover server` with `router: nginx`: the same cutover.yaml keys as with the
// embedded proxy (server.https, the team's certificate files, hsts) render into the team's nginx, and
// `cutover maintenance on|off` is answered by nginx. What each key renders is proven case by case in
// test/router/router-edge-contract.ts; this file proves the wiring from config to nginx.
describe('HTTPS and maintenance through nginx (router: nginx)', () => {
  let dir: string;
  let nginx: RunningNginxServer;
  let proxyPort: number;
  let httpsPort: number;
  let ca: TestCertificateAuthority;
  let leaf: IssuedCertificate;
  let server: ChildProcess | null = null;
  let agent: Agent;
  const cli = (...args: string[]) => runCli(args, { cwd: dir });
  const secureGet = async (target = '/') => {
    const response = await request(`https://127.0.0.1:${httpsPort}${target}`, {
      headers: { host: 'web.localhost', accept: 'application/json' },
      dispatcher: agent,
    });
    return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
  };

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-nginx-https-'));
    nginx = await startNginxServer();
    const adminPort = await findFreePort();
    [proxyPort, httpsPort] = [await findFreePort(), await findFreePort()];
    ca = TestCertificateAuthority.create(path.join(dir, 'ca'));
    leaf = ca.issue(['web.localhost']);
    agent = new Agent({ connect: { ca: ca.caPem, servername: 'web.localhost' } });
    fs.mkdirSync(path.join(dir, 'tls'));
    fs.copyFileSync(leaf.certFile, path.join(dir, 'tls', 'fullchain.pem'));
    fs.copyFileSync(leaf.keyFile, path.join(dir, 'tls', 'privkey.pem'));
    fs.symlinkSync(SAMPLE_APP, path.join(dir, 'app'));
    fs.writeFileSync(
      path.join(dir, 'cutover.yaml'),
      `server:
  proxy: 127.0.0.1:${proxyPort}
  https: 127.0.0.1:${httpsPort}
  admin: 127.0.0.1:${adminPort}
  state_dir: .cutover
  router: nginx
  nginx: { main_config: ${nginx.mainConfig}, include_file: ${nginx.includeFile}, pid_file: ${nginx.pidFile} }
services:
  web:
    hosts: [web.localhost]
    command: node server.js
    cwd: ./app
    env: { APP_VERSION: "\${VERSION}" }
    instances: 1
    health: { path: /health, interval: 200ms, timeout: 1s, healthy_threshold: 1 }
    strategy: { type: blue-green, auto_switch: true, timeout: 20s }
    drain_timeout: 2s
    tls: { cert: tls/fullchain.pem, key: tls/privkey.pem }
    hsts: { max_age: 86400 }
`,
    );
    server = await startServerProcess('cutover.yaml', dir, adminPort);
    const v1 = await cli('deploy', 'web', '--version', 'v1');
    assert.equal(v1.code, 0, v1.stderr);
  });

  after(async () => {
    await agent?.close();
    await downServerProcess(server, dir);
    await nginx?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("serves the team's certificate by SNI with HSTS, and redirects plain HTTP", async () => {
    const secure = await secureGet();
    assert.equal(secure.status, 200);
    assert.match(secure.text, /v1/);
    assert.equal(secure.headers['strict-transport-security'], 'max-age=86400');
    const plain = await request(`http://127.0.0.1:${proxyPort}/stats?x=1`, { headers: { host: 'web.localhost' } });
    await plain.body.dump();
    assert.equal(plain.statusCode, 308);
    assert.equal(plain.headers.location, `https://web.localhost:${httpsPort}/stats?x=1`);
    assert.match(fs.readFileSync(nginx.includeFile, 'utf8'), /listen 127\.0\.0\.1:\d+ ssl http2;/);
  });

  it('`cutover maintenance on` is answered by nginx, and `off` serves the release again', async () => {
    const on = await cli('maintenance', 'on', 'web', '--message', 'Back at 14:00', '--retry-after', '2m');
    assert.equal(on.code, 0, on.stderr);
    const closed = await secureGet();
    assert.equal(closed.status, 503);
    assert.equal(closed.headers['retry-after'], '120');
    assert.equal((JSON.parse(closed.text) as { error: { message: string } }).error.message, 'Back at 14:00');
    const off = await cli('maintenance', 'off', 'web');
    assert.equal(off.code, 0, off.stderr);
    const open = await secureGet();
    assert.equal(open.status, 200);
    assert.match(open.text, /v1/);
  });

  it('a blue-green deploy switches what nginx serves over HTTPS', async () => {
    const v2 = await cli('deploy', 'web', '--version', 'v2');
    assert.equal(v2.code, 0, v2.stderr);
    assert.match((await secureGet()).text, /v2/);
  });
});
