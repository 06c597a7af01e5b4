import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findFreePort } from '../../src/runtime/process/free-port.js';
import { downServerProcess, runCli, startServerProcess } from '../support/cli-process.js';
import { SAMPLE_APP } from '../support/cutover-harness.js';
import { eventually } from '../support/eventually.js';
import { startNginxServer, type RunningNginxServer } from '../support/nginx-server.js';
import { startPebble, type Pebble } from '../support/pebble.js';
import { listCertificates, servedCertificate, type CertLine } from '../support/served-certificates.js';

// Certificates cutover obtains, served by nginx: a real cutover server with `router: nginx`, a real
// ACME CA (pebble, with pebble-challtestsrv as its DNS) validating HTTP-01 against nginx's plain
// listener (the token rendered as an exact location), the certificate written for nginx and served by
// SNI with a chain pebble's root accepts, and `certs renew --force` seen by the next handshake.
describe('ACME certificates served by nginx (router: nginx)', () => {
  let dir: string;
  let nginx: RunningNginxServer;
  let pebble: Pebble;
  let root: string;
  let httpsPort: number;
  let server: ChildProcess | null = null;
  const cli = (...args: string[]) => runCli(args, { cwd: dir });
  const certs = (): Promise<CertLine[]> => listCertificates(cli);
  const served = (host: string) => servedCertificate(httpsPort, root, host);

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-nginx-acme-'));
    nginx = await startNginxServer();
    const [proxyPort, adminPort] = [await findFreePort(), await findFreePort()];
    httpsPort = await findFreePort();
    pebble = await startPebble({ httpPort: proxyPort, tlsPort: httpsPort });
    root = await pebble.rootPem();
    fs.writeFileSync(path.join(dir, 'pebble-ca.pem'), pebble.caBundlePem);
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
  acme: { directory: "${pebble.directoryUrl}", email: ops@example.com, ca_bundle: ./pebble-ca.pem }
services:
  shop:
    hosts: [shop.test]
    command: node server.js
    cwd: ./app
    env: { APP_VERSION: "\${VERSION}" }
    instances: 1
    health: { path: /health, interval: 200ms, timeout: 1s, healthy_threshold: 1 }
    strategy: { type: blue-green, auto_switch: true, timeout: 20s }
    drain_timeout: 1s
    tls: acme
`,
    );
    server = await startServerProcess('cutover.yaml', dir, adminPort);
    const deployed = await cli('deploy', 'shop', '--version', 'v1');
    assert.equal(deployed.code, 0, deployed.stderr);
  });

  after(async () => {
    await downServerProcess(server, dir);
    await pebble?.stop();
    await nginx?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('obtains the certificate by HTTP-01 through nginx and serves it by SNI with a valid chain', async () => {
    const deadline = Date.now() + 60_000;
    let lines = await certs();
    while (lines.some((line) => line.serial === null) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      lines = await certs();
    }
    const [line] = lines;
    assert.ok(
      line !== undefined && line.serial !== null,
      `no certificate: ${JSON.stringify(lines)} / ${pebble.output().slice(-2000)}`,
    );
    assert.equal(line.lastError, null);
    // The list shows a certificate once it is stored; nginx serves it after the reload that follows, which on a
    // loaded machine can take seconds. A handshake refused meanwhile is not the answer yet.
    await eventually(
      async () => (await served('shop.test').catch(() => null))?.serial === line.serial,
      'nginx serves the obtained certificate',
      30_000,
    );
    const seen = await served('shop.test');
    assert.equal(seen.authorized, true, seen.error ?? '');
    assert.equal(seen.serial, line.serial);
    // The challenge is taken down once the order is done: nothing of it is left in nginx's config.
    assert.doesNotMatch(fs.readFileSync(nginx.includeFile, 'utf8'), /acme-challenge\/[A-Za-z0-9_-]+ \{/);
  });

  it('certs renew --force swaps the certificate nginx serves to new handshakes', async () => {
    const before = (await served('shop.test')).serial;
    const renewed = await cli('certs', 'renew', 'shop.test', '--force');
    assert.equal(renewed.code, 0, renewed.stderr);
    const after = await served('shop.test');
    assert.equal(after.authorized, true, after.error ?? '');
    assert.notEqual(after.serial, before);
    const [line] = await certs();
    assert.equal(after.serial, line?.serial);
  });
});
