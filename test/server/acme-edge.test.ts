import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { Agent, request } from 'undici';
import { findFreePort } from '../../src/runtime/process/free-port.js';
import { downServerProcess, runCli, startServerProcess } from '../support/cli-process.js';
import { SAMPLE_APP } from '../support/cutover-harness.js';
import { startPebble, type Pebble } from '../support/pebble.js';
import { listCertificates, servedCertificate, type CertLine } from '../support/served-certificates.js';

// Automatic certificates end to end: a real cutover server and a real ACME CA (pebble, with
// pebble-challtestsrv as its DNS). The proxy answers HTTP-01 on its plain listener and TLS-ALPN-01 on its
// TLS listener; each service's host gets its certificate by the challenge it asks for; a client trusting
// only pebble's root gets a valid chain by SNI; `certs renew --force` swaps the certificate under a
// kept-alive connection; a CA that cannot reach the host names the host and its problem, and the old
// certificate keeps serving.
describe('certificates from an ACME CA through the proxy process', () => {
  let dir: string;
  let proxyPort: number;
  let httpsPort: number;
  let adminPort: number;
  let pebble: Pebble;
  let root: string;
  let server: ChildProcess | null = null;
  const cli = (...args: string[]) => runCli(args, { cwd: dir });
  const certs = (): Promise<CertLine[]> => listCertificates(cli);
  const served = (host: string) => servedCertificate(httpsPort, root, host);

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-acme-'));
    [proxyPort, httpsPort, adminPort] = [await findFreePort(), await findFreePort(), await findFreePort()];
    pebble = await startPebble({ httpPort: proxyPort, tlsPort: httpsPort });
    root = await pebble.rootPem();
    fs.writeFileSync(path.join(dir, 'pebble-ca.pem'), pebble.caBundlePem);
    fs.symlinkSync(SAMPLE_APP, path.join(dir, 'app'));
    const service = (name: string, host: string, tlsLine: string) => `  ${name}:
    hosts: [${host}]
    command: node server.js
    cwd: ./app
    env: { APP_VERSION: "\${VERSION}" }
    instances: 1
    health: { path: /health, interval: 200ms, timeout: 1s, healthy_threshold: 1 }
    strategy: { type: blue-green, auto_switch: true, timeout: 20s }
    drain_timeout: 1s
    tls: ${tlsLine}
`;
    fs.writeFileSync(
      path.join(dir, 'cutover.yaml'),
      `server:
  proxy: 127.0.0.1:${proxyPort}
  https: 127.0.0.1:${httpsPort}
  admin: 127.0.0.1:${adminPort}
  state_dir: .cutover
  proxy_workers: 2
  acme: { directory: "${pebble.directoryUrl}", email: ops@example.com, ca_bundle: ./pebble-ca.pem }
services:
${service('shop', 'shop.test', 'acme')}${service('blog', 'blog.test', '{ acme: tls-alpn-01 }')}`,
    );
    server = await startServerProcess('cutover.yaml', dir, adminPort);
    for (const name of ['shop', 'blog']) {
      const deployed = await cli('deploy', name, '--version', 'v1');
      assert.equal(deployed.code, 0, deployed.stderr);
    }
  });

  after(async () => {
    await downServerProcess(server, dir);
    await pebble?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('obtains a certificate for each host, one by HTTP-01 and one by TLS-ALPN-01, served by SNI with a valid chain', async () => {
    const deadline = Date.now() + 60_000;
    let lines = await certs();
    while (lines.some((line) => line.serial === null) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      lines = await certs();
    }
    assert.deepEqual(
      lines.map((line) => [line.host, line.source, line.serial !== null, line.lastError]),
      [
        ['shop.test', 'acme', true, null],
        ['blog.test', 'acme', true, null],
      ],
      `pebble said: ${pebble.output().slice(-2000)}`,
    );
    for (const line of lines) {
      const seen = await served(line.host);
      assert.equal(seen.authorized, true, `${line.host}: ${seen.error}`);
      assert.equal(seen.serial, line.serial);
      assert.ok((line.notAfter ?? 0) > Date.now());
      assert.ok((line.nextRenewalAt ?? 0) > Date.now());
    }
    // Each order is an event of its service (read from the state database, as the dashboard's history does).
    const db = new Database(path.join(dir, '.cutover', 'cutover.db'), { readonly: true });
    try {
      const obtained = db
        .prepare("SELECT service, message FROM events WHERE type = 'certificate.obtained' ORDER BY seq")
        .all() as { service: string; message: string }[];
      assert.ok(obtained.some((e) => e.service === 'blog' && /obtained for blog\.test by tls-alpn-01/.test(e.message)));
      assert.ok(obtained.some((e) => e.service === 'shop' && /obtained for shop\.test by http-01/.test(e.message)));
    } finally {
      db.close();
    }
    const agent = new Agent({ connect: { ca: root, servername: 'shop.test' } });
    try {
      const response = await request(`https://127.0.0.1:${httpsPort}/`, {
        headers: { host: 'shop.test' },
        dispatcher: agent,
      });
      assert.equal(response.statusCode, 200);
      assert.match(await response.body.text(), /v1/);
    } finally {
      await agent.close();
    }
    // Now that the host has a certificate, plain HTTP is redirected to it.
    const plain = await request(`http://127.0.0.1:${proxyPort}/`, { headers: { host: 'shop.test' } });
    await plain.body.dump();
    assert.equal(plain.statusCode, 308);
  });

  it('`certs renew --force` swaps the certificate: new handshakes see the new serial, a kept-alive connection keeps working', async () => {
    const before = await served('shop.test');
    const agent = new Agent({ connect: { ca: root, servername: 'shop.test' }, connections: 1 });
    const get = async () => {
      const response = await request(`https://127.0.0.1:${httpsPort}/`, {
        headers: { host: 'shop.test' },
        dispatcher: agent,
      });
      await response.body.dump();
      return response.statusCode;
    };
    try {
      assert.equal(await get(), 200);
      const renewed = await cli('certs', 'renew', 'shop.test', '--force');
      assert.equal(renewed.code, 0, `${renewed.stdout}${renewed.stderr}`);
      assert.match(renewed.stdout, /shop\.test renewed/);
      const after = await served('shop.test');
      assert.equal(after.authorized, true);
      assert.notEqual(after.serial, before.serial);
      for (let i = 0; i < 5; i++) assert.equal(await get(), 200);
    } finally {
      await agent.close();
    }
  });

  it('a CA that cannot reach the host fails the order naming the host and the problem; the old certificate serves on', async () => {
    const before = await served('shop.test');
    await pebble.setDnsA('shop.test', '127.0.0.2');
    try {
      const refused = await cli('certs', 'renew', 'shop.test', '--force');
      assert.equal(refused.code, 1, refused.stdout);
      assert.match(refused.stdout, /shop\.test not renewed: .*shop\.test.*urn:ietf:params:acme:error:/);
      const line = (await certs()).find((l) => l.host === 'shop.test');
      assert.match(line?.lastError ?? '', /urn:ietf:params:acme:error:/);
      assert.equal(line?.serial, before.serial);
      assert.equal((await served('shop.test')).serial, before.serial);
    } finally {
      await pebble.clearDnsA('shop.test');
    }
  });
});
