import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SteadyTraffic } from '../../examples/demo/steady-traffic.js';
import { findFreePort } from '../../src/runtime/process/free-port.js';
import { SAMPLE_APP, startHarness, type Harness, errorRateTemplateYaml } from '../support/cutover-harness.js';
import { GreeterClient, GRPC_APP, type GreeterReply } from '../support/grpc-app.js';
import { Http2Getter, SteadyCalls } from '../support/h2-traffic.js';
import { operate } from '../support/operations.js';
import { TestCertificateAuthority } from '../support/test-certificates.js';

// HTTP/2 and gRPC through deploys, end to end on a real server: HTTP/1.1 and h2 clients over TLS through a
// blue-green switch and a canary (0 failed, h2 counted on the releases); gRPC unary calls through a blue-green
// switch with a server stream open across it (it completes on the old release); a gRPC canary that fails 20%
// of its calls with INTERNAL, aborted by the builtin error-rate analysis.
let h: Harness;
let caDir: string;
let ca: TestCertificateAuthority;
let httpsPort: number;

const counters = (service: string, releaseId: string) =>
  h.server.router.counters().find((c) => c.service === service && c.releaseId === releaseId);

before(async () => {
  caDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-h2-ca-'));
  ca = TestCertificateAuthority.create(caDir);
  const shop = ca.issue(['shop.localhost', 'canary.localhost']);
  const grpcCert = ca.issue(['greeter.localhost', 'judged.localhost']);
  httpsPort = await findFreePort();
  const grpcService = (name: string, strategy: string) => `  ${name}:
    hosts: [${name === 'greeter' ? 'greeter' : 'judged'}.localhost]
    command: node server.js
    cwd: ${path.dirname(GRPC_APP)}
    env: { APP_VERSION: "\${VERSION}" }
    protocol: grpc
    tls: { cert: ${grpcCert.certFile}, key: ${grpcCert.keyFile} }
    instances: 1
    health: { interval: 200ms, timeout: 1s, healthy_threshold: 1 }
    drain_timeout: 10s
    strategy: ${strategy}
`;
  h = await startHarness({
    instances: 1,
    serverYaml: `  https: 127.0.0.1:${httpsPort}\n  redirect_http: false\n`,
    strategy: '{ type: blue-green, auto_switch: true, timeout: 20s }',
    drainTimeout: '2s',
    extraServiceYaml: `  shop:
    hosts: [shop.localhost]
    command: node server.js
    cwd: ${SAMPLE_APP}
    env: { APP_VERSION: "\${VERSION}" }
    instances: 2
    health: { path: /health, interval: 200ms, timeout: 1s, healthy_threshold: 1 }
    tls: { cert: ${shop.certFile}, key: ${shop.keyFile} }
    drain_timeout: 2s
    strategy: { type: blue-green, auto_switch: true, timeout: 20s }
  canary:
    hosts: [canary.localhost]
    command: node server.js
    cwd: ${SAMPLE_APP}
    env: { APP_VERSION: "\${VERSION}" }
    instances: 1
    health: { path: /health, interval: 200ms, timeout: 1s, healthy_threshold: 1 }
    tls: { cert: ${shop.certFile}, key: ${shop.keyFile} }
    drain_timeout: 2s
    strategy: { type: canary, steps: [{ weight: 30, pause: 2s }, { weight: 70, pause: 2s }, { weight: 100 }], timeout: 20s }
${grpcService('greeter', '{ type: blue-green, auto_switch: true, timeout: 20s }')}${grpcService(
      'judged',
      `
      type: canary
      steps: [{ weight: 50, pause: 20s }, { weight: 100 }]
      analysis: [errors]
      timeout: 20s`,
    )}`,
    topLevelYaml: `analysis:
${errorRateTemplateYaml('500ms')}`,
  });
  for (const service of ['shop', 'canary', 'greeter', 'judged']) {
    const first = await operate(h.client, `/api/v1/services/${service}/deploy`, { version: 'v1', autoSwitch: true });
    assert.equal(first.operation.outcome, 'succeeded', `${service}: ${JSON.stringify(first.operation.error)}`);
  }
});

after(async () => {
  await h?.close();
  fs.rmSync(caDir, { recursive: true, force: true });
});

describe('HTTP/2 and gRPC through deploys', () => {
  /** HTTP/1.1 and h2 clients at 100 req/s each over TLS while `service` deploys v2; the two summaries. */
  async function deployUnderLoad(t: { diagnostic(message: string): void }, service: string, host: string) {
    const h2 = new Http2Getter(`https://127.0.0.1:${httpsPort}`, host, ca.caPem);
    const h1 = new SteadyTraffic({
      url: `https://127.0.0.1:${httpsPort}`,
      host,
      tls: { ca: ca.caPem, servername: host },
      ratePerSecond: 100,
      connections: 4,
      maxDurationMs: 40_000,
      maxRequests: 6_000,
    }).start();
    const h2Load = new SteadyCalls(() => h2.get('/'), { ratePerSecond: 100, maxCalls: 6_000, maxDurationMs: 40_000 });
    h2Load.start();
    const oldRelease = h.server.controller.activeRelease(service)?.id ?? '';
    try {
      await Promise.all([h1.waitForAnswers(100), h2Load.waitForAnswers(100)]);
      const done = await operate(h.client, `/api/v1/services/${service}/deploy`, { version: 'v2', autoSwitch: true });
      assert.equal(done.operation.outcome, 'succeeded', JSON.stringify(done.operation.error));
      await Promise.all([h1.waitForAnswers(100), h2Load.waitForAnswers(100)]);
    } finally {
      await Promise.all([h1.stop(), h2Load.stop()]);
      h2.close();
    }
    const [one, two] = [h1.summary, h2Load.summary];
    t.diagnostic(`${service} HTTP/1.1: ${one.sent} sent, ${one.failed} failed ${JSON.stringify(one.byVersion)}`);
    t.diagnostic(`${service} h2: ${two.sent} sent, ${two.failed} failed ${JSON.stringify(two.byVersion)}`);
    assert.equal(one.failed, 0, `HTTP/1.1 failed: ${one.firstErrors.join('; ')}`);
    assert.equal(two.failed, 0, `h2 failed: ${two.firstErrors.join('; ')}`);
    assert.ok((two.byVersion.v1 ?? 0) > 0 && (two.byVersion.v2 ?? 0) > 0, 'h2 clients moved with the deploy');
    // Every h2 answer of v1 was counted on v1's release, with the HTTP/1.1 ones.
    const old = counters(service, oldRelease);
    assert.ok(old !== undefined && old.requests >= (two.byVersion.v1 ?? 0) + (one.byVersion.v1 ?? 0));
  }

  it('HTTP/1.1 and h2 clients over TLS: 0 failed through a blue-green switch, h2 counted on each release', async (t) => {
    await deployUnderLoad(t, 'shop', 'shop.localhost');
  });

  it('HTTP/1.1 and h2 clients over TLS: 0 failed through a canary', async (t) => {
    await deployUnderLoad(t, 'canary', 'canary.localhost');
  });

  it('gRPC unary calls: 0 failed through a blue-green switch; a stream open across it ends on the old release', async (t) => {
    const client = new GreeterClient(httpsPort, 'greeter.localhost', ca.caPem);
    const calls = new SteadyCalls(async () => (await client.hello('load')).version, {
      ratePerSecond: 150,
      maxCalls: 6_000,
      maxDurationMs: 40_000,
    });
    calls.start();
    try {
      await calls.waitForAnswers(100);
      const stream: GreeterReply[] = [];
      const streaming = client.count(40, 100, (reply) => stream.push(reply));
      const done = await operate(h.client, '/api/v1/services/greeter/deploy', { version: 'v2', autoSwitch: true });
      assert.equal(done.operation.outcome, 'succeeded', JSON.stringify(done.operation.error));
      assert.ok(stream.length < 40, 'the stream was still open when the switch happened');
      const replies = await streaming;
      assert.equal(replies.length, 40);
      assert.ok(
        replies.every((r) => r.version === 'v1'),
        'the open stream completed on the release it started on',
      );
      await calls.waitForAnswers(100);
    } finally {
      const summary = await calls.stop();
      client.close();
      t.diagnostic(`gRPC: ${summary.sent} calls, ${summary.failed} failed ${JSON.stringify(summary.byVersion)}`);
      assert.equal(summary.failed, 0, `gRPC calls failed: ${summary.firstErrors.join('; ')}`);
      assert.ok((summary.byVersion.v2 ?? 0) > 0, 'calls moved to v2');
    }
  });

  it('a gRPC canary failing 20% of its calls with INTERNAL is aborted by the builtin analysis', async () => {
    const client = new GreeterClient(httpsPort, 'judged.localhost', ca.caPem);
    const calls = new SteadyCalls(async () => (await client.hello('judge')).version, {
      ratePerSecond: 100,
      maxCalls: 4_000,
      maxDurationMs: 30_000,
    });
    calls.start();
    try {
      const done = await operate(h.client, '/api/v1/services/judged/deploy', { version: 'v2-errors20' });
      assert.equal(done.operation.outcome, 'failed', JSON.stringify(done.operation));
      assert.match(done.operation.error?.message ?? '', /error-rate/);
      const canary = counters('judged', done.operation.releaseId ?? '');
      assert.ok(canary !== undefined && canary.status['5xx'] > 0, `INTERNAL counted as 5xx: ${JSON.stringify(canary)}`);
      assert.equal((await client.hello('after')).version, 'v1', 'the stable release serves on');
    } finally {
      await calls.stop();
      client.close();
    }
  });
});
