import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { SteadyTraffic } from '../../examples/demo/steady-traffic.js';
import { findFreePort } from '../../src/runtime/process/free-port.js';
import { downServerProcess, isAlive, runCli, startServerProcess } from '../support/cli-process.js';
import { SAMPLE_APP } from '../support/cutover-harness.js';
import { Http2Getter, SteadyCalls } from '../support/h2-traffic.js';
import { TestCertificateAuthority, type IssuedCertificate } from '../support/test-certificates.js';

// HTTPS at the edge, end to end: a real `cutover server` whose proxy process (two workers) holds a TLS
// listener. Clients that trust only the test CA see 0 failed requests over TLS through a blue-green
// deploy and a `cutover proxy restart` (the TLS socket handed to the next generation); plain HTTP is
// redirected; `cutover reload` after the team renewed its files swaps the certificate while a kept-alive
// HTTPS connection keeps working.
describe('HTTPS at the edge through the proxy process', () => {
  let dir: string;
  let proxyPort: number;
  let httpsPort: number;
  let adminPort: number;
  let ca: TestCertificateAuthority;
  let leaf: IssuedCertificate;
  let server: ChildProcess | null = null;
  const cli = (...args: string[]) => runCli(args, { cwd: dir });
  const httpsLoad = (): SteadyTraffic =>
    new SteadyTraffic({
      url: `https://127.0.0.1:${httpsPort}`,
      host: 'web.localhost',
      tls: { ca: ca.caPem, servername: 'web.localhost' },
      ratePerSecond: 200,
      connections: 8,
      maxDurationMs: 60_000,
      maxRequests: 12_000,
    }).start();
  /** The serial of the leaf a new handshake gets. */
  const servedSerial = (): Promise<string> =>
    new Promise((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port: httpsPort, ca: ca.caPem, servername: 'web.localhost' });
      socket.once('secureConnect', () => {
        resolve(socket.getPeerX509Certificate()?.serialNumber ?? '');
        socket.destroy();
      });
      socket.once('error', reject);
    });

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-https-'));
    [proxyPort, httpsPort, adminPort] = [await findFreePort(), await findFreePort(), await findFreePort()];
    ca = TestCertificateAuthority.create(path.join(dir, 'ca'));
    leaf = ca.issue(['web.localhost']);
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
  proxy_workers: 2
services:
  web:
    hosts: [web.localhost]
    command: node server.js
    cwd: ./app
    env: { APP_VERSION: "\${VERSION}" }
    instances: 2
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
    await downServerProcess(server, dir);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('redirects plain HTTP to HTTPS and answers HTTPS with HSTS', async () => {
    const plain = await request(`http://127.0.0.1:${proxyPort}/stats?x=1`, { headers: { host: 'web.localhost' } });
    await plain.body.dump();
    assert.equal(plain.statusCode, 308);
    assert.equal(plain.headers.location, `https://web.localhost:${httpsPort}/stats?x=1`);
    const agent = new Agent({ connect: { ca: ca.caPem, servername: 'web.localhost' } });
    try {
      const secure = await request(`https://127.0.0.1:${httpsPort}/`, {
        headers: { host: 'web.localhost' },
        dispatcher: agent,
      });
      assert.equal(secure.statusCode, 200);
      assert.equal(secure.headers['strict-transport-security'], 'max-age=86400');
      assert.match(await secure.body.text(), /v1/);
    } finally {
      await agent.close();
    }
  });

  it("exports the expiry of each HTTPS host's certificate on /metrics, and lists it in `certs list`", async () => {
    const token = fs.readFileSync(path.join(dir, '.cutover', 'admin-token'), 'utf8').trim();
    const metrics = await request(`http://127.0.0.1:${adminPort}/metrics`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const text = await metrics.body.text();
    const notAfter = Math.floor(Date.parse(new X509Certificate(leaf.certPem).validTo) / 1000);
    assert.ok(
      text.includes(
        `cutover_certificate_expiry_timestamp_seconds{service="web",host="web.localhost",source="files"} ${notAfter}`,
      ),
      text
        .split('\n')
        .filter((line) => line.includes('certificate'))
        .join('\n'),
    );
    const status = await cli('status');
    assert.match(
      status.stdout,
      new RegExp(`router: proxy \\(127\\.0\\.0\\.1:${proxyPort}, https 127\\.0\\.0\\.1:${httpsPort}\\)`),
    );
    const listed = await cli('certs', 'list');
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /web\.localhost\s+web\s+files\s+.*cutover test CA.*expires/);
  });

  it('0 failed over TLS (HTTP/1.1 and h2) through a blue-green deploy and a proxy restart, with two workers', async (t) => {
    const traffic = httpsLoad();
    const h2 = new Http2Getter(`https://127.0.0.1:${httpsPort}`, 'web.localhost', ca.caPem);
    const h2Load = new SteadyCalls(() => h2.get('/'), { ratePerSecond: 100, maxCalls: 6_000, maxDurationMs: 60_000 });
    h2Load.start();
    let slow: Promise<string> | null = null;
    try {
      // 100 answers (half a second) before the deploy and before the restart: the load runs on through both
      // until it is stopped and judged, so these waits only space the steps. 300 after the restart, on the new
      // generation, as before.
      await traffic.waitForAnswers(100);
      const v2 = await cli('deploy', 'web', '--version', 'v2');
      assert.equal(v2.code, 0, v2.stderr);
      await traffic.waitForAnswers(100);
      const before = Number(fs.readFileSync(path.join(dir, '.cutover', 'proxy', 'proxy.pid'), 'utf8'));
      // An h2 stream open across the handover: the old generation's GOAWAY lets it finish there.
      slow = h2.get('/slow?ms=1500');
      const restart = await cli('proxy', 'restart', '--json');
      assert.equal(restart.code, 0, `${restart.stdout}${restart.stderr}`);
      const next = (JSON.parse(restart.stdout) as { proxy: { pid: number; workers: number } }).proxy;
      assert.notEqual(next.pid, before);
      assert.equal(next.workers, 2);
      assert.ok(isAlive(next.pid));
      await traffic.waitForAnswers(300);
      assert.equal(await servedSerial(), leaf.serial, 'the new generation serves the same certificate');
      assert.equal(await slow, 'v2', 'the h2 stream open during the handover completed');
    } finally {
      const summary = await traffic.stop();
      const overH2 = await h2Load.stop();
      await slow?.catch(() => undefined);
      h2.close();
      t.diagnostic(
        `${summary.sent} sent over TLS, ${summary.failed} failed; by version ${JSON.stringify(summary.byVersion)}`,
      );
      t.diagnostic(
        `h2: ${overH2.sent} sent, ${overH2.failed} failed, ${h2.retried} refused by a GOAWAY and sent again; ${JSON.stringify(overH2.byVersion)}`,
      );
      assert.equal(overH2.failed, 0, `failed over h2: ${overH2.firstErrors.join('; ')}`);
      assert.equal(summary.failed, 0, `failed over TLS: ${summary.firstErrors.join('; ')}`);
      assert.ok((summary.byVersion.v2 ?? 0) > 0, 'the deploy moved the traffic');
    }
    const counters = JSON.parse((await cli('status', 'web', '--json')).stdout) as { active?: { version: string } };
    assert.equal(counters.active?.version, 'v2');
  });

  it('`cutover reload` after the files were renewed swaps the certificate; a kept-alive connection keeps working', async () => {
    const agent = new Agent({ connect: { ca: ca.caPem, servername: 'web.localhost' }, connections: 1 });
    const get = async () => {
      const response = await request(`https://127.0.0.1:${httpsPort}/`, {
        headers: { host: 'web.localhost' },
        dispatcher: agent,
      });
      await response.body.dump();
      return response.statusCode;
    };
    try {
      assert.equal(await get(), 200);
      const renewed = ca.issue(['web.localhost']);
      fs.copyFileSync(renewed.certFile, path.join(dir, 'tls', 'fullchain.pem'));
      fs.copyFileSync(renewed.keyFile, path.join(dir, 'tls', 'privkey.pem'));
      const reload = await cli('reload');
      assert.equal(reload.code, 0, reload.stderr);
      assert.match(reload.stdout, /certificate of web swapped/);
      assert.equal(await servedSerial(), renewed.serial);
      for (let i = 0; i < 5; i++) assert.equal(await get(), 200);

      // A renewed file that does not fit (another host's) is refused whole; the served certificate stays.
      const wrong = ca.issue(['other.localhost']);
      fs.copyFileSync(wrong.certFile, path.join(dir, 'tls', 'fullchain.pem'));
      fs.copyFileSync(wrong.keyFile, path.join(dir, 'tls', 'privkey.pem'));
      const refused = await cli('reload');
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /services\.web\.tls\.cert: .*not issued for host 'web\.localhost'/);
      assert.equal(await servedSerial(), renewed.serial);
    } finally {
      await agent.close();
    }
  });
});
