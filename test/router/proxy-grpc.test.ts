import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import grpc from '@grpc/grpc-js';
import { Agent, request } from 'undici';
import type { RouteTarget, ServiceRoute } from '../../src/router/index.js';
import { ProxyRouter } from '../../src/router/proxy/proxy-router.js';
import { grpcCheck } from '../../src/health/grpc-check.js';
import { GreeterClient, startGrpcApp, type GreeterReply, type GrpcApp } from '../support/grpc-app.js';
import { TestCertificateAuthority, type IssuedCertificate } from '../support/test-certificates.js';
import { freePort, route, startSampleApp, type SampleApp } from './proxy-fixtures.js';

/**
 * gRPC through the embedded proxy (`protocol: grpc`): real @grpc/grpc-js
 * servers (HTTP/2 cleartext) behind it, a real grpc-js client over TLS in
 * front. Unary and server-streaming calls, a switch while a stream is open,
 * gRPC status codes counted per release, the gRPC health check.
 */
let dir: string;
let ca: IssuedCertificate;
let authority: TestCertificateAuthority;
let proxy: ProxyRouter;
let v1: GrpcApp;
let v2: GrpcApp;
let broken: GrpcApp;
let client: GreeterClient;

const grpcRoute = (releaseId: string, target: RouteTarget): ServiceRoute => ({
  ...route('greeter', ['grpc.test'], releaseId, []),
  target,
  protocol: 'grpc',
  tls: { certificates: [{ hosts: ['grpc.test'], certPem: ca.certPem, keyPem: ca.keyPem }] },
});

const to = (releaseId: string, app: GrpcApp, id = `${releaseId}-0`): ServiceRoute =>
  grpcRoute(releaseId, { releaseId, version: app.version, slot: 'blue', upstreams: [app.upstream(id)] });

const countersOf = (releaseId: string) => proxy.counters().find((c) => c.releaseId === releaseId);

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-proxy-grpc-'));
  authority = TestCertificateAuthority.create(dir);
  ca = authority.issue(['grpc.test']);
  [v1, v2, broken] = await Promise.all([startGrpcApp('v1'), startGrpcApp('v2'), startGrpcApp('v3-errors100')]);
  proxy = await ProxyRouter.listen({ host: '127.0.0.1', port: 0, https: { host: '127.0.0.1', port: 0 } });
  await proxy.setRoute(to('r1', v1));
  client = new GreeterClient(proxy.tlsAddress?.port ?? 0, 'grpc.test', authority.caPem);
});

after(async () => {
  client.close();
  await proxy.close();
  await Promise.all([v1.stop(), v2.stop(), broken.stop()]);
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('gRPC through the embedded proxy', () => {
  it('proxies unary calls and counts them on the release', async () => {
    const before = countersOf('r1')?.status['2xx'] ?? 0;
    const reply = await client.hello('ada');
    assert.equal(reply.version, 'v1');
    assert.equal(reply.greeting, 'hello ada');
    assert.equal((countersOf('r1')?.status['2xx'] ?? 0) - before, 1);
  });

  it('proxies server-streaming calls message by message', async () => {
    const replies = await client.count(20, 5);
    assert.deepEqual(
      replies.map((r) => r.i),
      Array.from({ length: 20 }, (_, i) => i),
    );
    assert.ok(replies.every((r) => r.version === 'v1'));
  });

  it('lets a stream open during a switch finish on the old release, while new calls go to the new one', async () => {
    await proxy.setRoute(to('r1', v1));
    const seen: GreeterReply[] = [];
    let switched: Promise<{ drained: boolean; closed: number }> | undefined;
    const stream = client.count(12, 40, (reply) => {
      seen.push(reply);
      if (seen.length === 3) switched = proxy.setRoute(to('r2', v2)).then(() => proxy.drain('greeter', 'r1', 10_000));
    });
    const replies = await stream;
    assert.equal(replies.length, 12, 'every message of the stream arrived');
    assert.ok(
      replies.every((r) => r.version === 'v1'),
      'the whole stream came from the release it started on',
    );
    assert.ok(switched !== undefined, 'the switch happened while the stream was open');
    const drained = await (switched as Promise<{ drained: boolean; closed: number }>);
    assert.equal(drained.drained, true, 'the drain waited for the stream, then closed nothing');
    assert.equal(drained.closed, 0);
    assert.equal((await client.hello('after')).version, 'v2');
  });

  it('passes gRPC errors through and counts INTERNAL as a server error of the release', async () => {
    await proxy.setRoute(to('r3', broken));
    try {
      const before = countersOf('r3')?.status['5xx'] ?? 0;
      await assert.rejects(client.hello('x'), (error: grpc.ServiceError) => {
        assert.equal(error.code, grpc.status.INTERNAL);
        assert.match(error.details, /v3-errors100 failed this call/);
        return true;
      });
      assert.equal((countersOf('r3')?.status['5xx'] ?? 0) - before, 1);
    } finally {
      await proxy.setRoute(to('r2', v2));
    }
  });

  it('moves a call whose instance cannot be reached to another instance of the release', async () => {
    const dead = await freePort();
    await proxy.setRoute(
      grpcRoute('r4', {
        releaseId: 'r4',
        version: 'v2',
        slot: 'green',
        upstreams: [{ id: 'r4-dead', host: '127.0.0.1', port: dead }, v2.upstream('r4-1')],
      }),
    );
    try {
      for (let i = 0; i < 6; i++) assert.equal((await client.hello(`n${i}`)).version, 'v2');
    } finally {
      await proxy.setRoute(to('r2', v2));
    }
  });

  it('answers UNAVAILABLE when no instance can be reached', async () => {
    const dead = await freePort();
    await proxy.setRoute(
      grpcRoute('r5', {
        releaseId: 'r5',
        version: 'v9',
        slot: 'green',
        upstreams: [{ id: 'r5-dead', host: '127.0.0.1', port: dead }],
      }),
    );
    try {
      await assert.rejects(client.hello('x'), (error: grpc.ServiceError) => {
        assert.equal(error.code, grpc.status.UNAVAILABLE);
        return true;
      });
      assert.ok((countersOf('r5')?.status.error ?? 0) >= 1);
    } finally {
      await proxy.setRoute(to('r2', v2));
    }
  });

  it('refuses HTTP/1.1 requests for a gRPC service (505)', async () => {
    const agent = new Agent({ connect: { ca: authority.caPem, servername: 'grpc.test', ALPNProtocols: ['http/1.1'] } });
    try {
      const response = await request(`https://127.0.0.1:${proxy.tlsAddress?.port}/demo.Greeter/Hello`, {
        method: 'POST',
        headers: { host: 'grpc.test', 'content-type': 'application/grpc' },
        body: Buffer.alloc(5),
        dispatcher: agent,
      });
      assert.equal(response.statusCode, 505);
      assert.match(await response.body.text(), /HTTP2_REQUIRED/);
    } finally {
      await agent.close();
    }
  });
});

describe('the gRPC health check', () => {
  const target = (port: number) => ({
    instanceId: 'i',
    host: '127.0.0.1',
    port,
    vars: { version: 'v', slot: 'blue', instance: '0' },
  });
  const check = { check: { type: 'grpc' as const, service: '' }, timeoutMs: 2_000 };

  it('passes for a server that answers SERVING', async () => {
    const result = await grpcCheck(target(v1.port), check);
    assert.equal(result.ok, true, result.detail);
    assert.match(result.detail, /SERVING/);
  });

  it('fails for NOT_SERVING, for an HTTP/1.1 server, and for a closed port (not answered)', async () => {
    const unhealthy = await startGrpcApp('v1-unhealthy');
    let http: SampleApp | null = null;
    try {
      const notServing = await grpcCheck(target(unhealthy.port), check);
      assert.equal(notServing.ok, false);
      assert.match(notServing.detail, /NOT_SERVING/);
      http = await startSampleApp('h1');
      const plain = await grpcCheck(target(http.port), check);
      assert.equal(plain.ok, false, plain.detail);
      const closed = await grpcCheck(target(await freePort()), check);
      assert.equal(closed.ok, false);
      assert.equal(closed.answered, false);
    } finally {
      await Promise.all([unhealthy.stop(), http?.stop()]);
    }
  });
});
