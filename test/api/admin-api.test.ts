import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { loadOrCreateToken, tokenMatches } from '../../src/http/admin-token.js';
import type { ServiceStatus } from '../../src/controller/service-status.js';
import type { CutoverError } from '../../src/core/errors.js';
import { startHarness, type Harness } from '../support/cutover-harness.js';
import { operate } from '../support/operations.js';

// The admin API refuses anything without the token, and bad input changes nothing.
describe('admin API', () => {
  let h: Harness;
  let baseline: string;
  const call = (
    method: 'GET' | 'POST',
    url: string,
    init: { token?: string | null; body?: string; contentType?: string } = {},
  ) => {
    const headers: Record<string, string> = {};
    if (init.token !== null) headers.authorization = `Bearer ${init.token ?? h.server.token}`;
    if (init.body !== undefined) headers['content-type'] = init.contentType ?? 'application/json';
    return request(`${h.server.adminUrl}${url}`, { method, headers, body: init.body });
  };
  const snapshot = async (): Promise<string> => {
    const s = await h.client.request<ServiceStatus>('GET', '/api/v1/services/web');
    const history = await h.client.request<unknown>('GET', '/api/v1/services/web/history');
    return JSON.stringify({ active: s.active?.releaseId, lock: s.lock, history });
  };

  before(async () => {
    h = await startHarness({ instances: 1, strategy: '{ type: blue-green, auto_switch: true, timeout: 10s }' });
    const { operation } = await operate(h.client, '/api/v1/services/web/deploy', { version: 'v1' });
    assert.equal(operation.outcome, 'succeeded');
    baseline = await snapshot();
  });
  after(async () => {
    await h?.close();
  });

  it('listens on loopback and wrote the generated token with mode 0600', () => {
    assert.match(h.server.adminUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
    const file = path.join(h.dir, 'state', 'admin-token');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.equal(fs.readFileSync(file, 'utf8').trim(), h.server.token);
    assert.ok(h.server.token.length >= 40);
  });

  it('names the router in use next to the services: the embedded proxy on server.proxy', async () => {
    const answer = await h.client.request<{ router: unknown; services: ServiceStatus[] }>('GET', '/api/v1/services');
    assert.deepEqual(answer.router, { kind: 'proxy', listen: new URL(h.proxyUrl).host });
    assert.deepEqual(
      answer.services.map((s) => s.service),
      ['web'],
    );
  });

  it('answers 401 without a token or with a wrong one, and changes nothing', async () => {
    for (const token of [null, 'wrong', `${h.server.token}x`, '']) {
      const deploy = await call('POST', '/api/v1/services/web/deploy', {
        token,
        body: JSON.stringify({ version: 'v9' }),
      });
      assert.equal(deploy.statusCode, 401);
      const body = (await deploy.body.json()) as { error: { code: string; hint: string } };
      assert.equal(body.error.code, 'UNAUTHORIZED');
      assert.match(body.error.hint, /Bearer/);
      const read = await call('GET', '/api/v1/services', { token });
      assert.equal(read.statusCode, 401);
      await read.body.dump();
    }
    const rollback = await call('POST', '/api/v1/services/web/rollback', { token: 'nope', body: '{}' });
    assert.equal(rollback.statusCode, 401);
    await rollback.body.dump();
    assert.equal(await snapshot(), baseline);
  });

  it('answers 400 with the reason for malformed JSON and for bad fields, and changes nothing', async () => {
    // A version outside the version grammar has its own code (VERSION_INVALID) since the shell-injection fix.
    const cases: [string, RegExp, string][] = [
      ['{"version": "v2"', /JSON/i, 'BAD_REQUEST'],
      ['{"version": 42}', /version/, 'BAD_REQUEST'],
      ['{"version": "v2", "slot": "purple"}', /slot/, 'BAD_REQUEST'],
      ['{"version": "v2", "surprise": true}', /surprise|unrecognized/i, 'BAD_REQUEST'],
      ['{"version": "has space"}', /OCI image tag grammar/, 'VERSION_INVALID'],
      ['{}', /version/, 'BAD_REQUEST'],
    ];
    for (const [body, reason, code] of cases) {
      const response = await call('POST', '/api/v1/services/web/deploy', { body });
      assert.equal(response.statusCode, 400, body);
      const answer = (await response.body.json()) as { error: { code: string; message: string } };
      assert.equal(answer.error.code, code, body);
      assert.match(answer.error.message, reason, body);
    }
    const wrongType = await call('POST', '/api/v1/services/web/deploy', {
      body: 'version=v2',
      contentType: 'text/plain',
    });
    assert.ok(wrongType.statusCode === 400 || wrongType.statusCode === 415);
    await wrongType.body.dump();
    assert.equal(await snapshot(), baseline);
  });

  it('answers 404 with a code for an unknown service or route', async () => {
    const service = await call('POST', '/api/v1/services/nope/deploy', { body: JSON.stringify({ version: 'v2' }) });
    assert.equal(service.statusCode, 404);
    assert.equal(((await service.body.json()) as { error: { code: string } }).error.code, 'SERVICE_NOT_FOUND');
    const route = await call('GET', '/api/v1/nothing-here');
    assert.equal(route.statusCode, 404);
    assert.equal(((await route.body.json()) as { error: { code: string } }).error.code, 'NOT_FOUND');
  });

  it("fills the service's name into a refusal's hint, so it is a command to run as it is", async () => {
    // The catalogue writes `<service>`; "Run `cutover status <service>`" made a person rewrite the command.
    await assert.rejects(h.client.request('POST', '/api/v1/services/web/resume', {}), (error: CutoverError) => {
      assert.equal(error.code, 'INVALID_STATE');
      assert.match(error.hint, /`cutover status web`/);
      assert.doesNotMatch(error.hint, /<service>/);
      return true;
    });
  });

  it('serves the instance logs of a release', async () => {
    const response = await call('GET', '/api/v1/services/web/logs?lines=5');
    assert.equal(response.statusCode, 200);
    const text = await response.body.text();
    assert.match(text, /\[blue-0\] .*sample-app v1 instance 0 listening/);
  });

  it('follows the logs of a release as new lines are written', async () => {
    const controller = new AbortController();
    const response = await request(`${h.server.adminUrl}/api/v1/services/web/logs?lines=1&follow=true`, {
      headers: { authorization: `Bearer ${h.server.token}` },
      signal: controller.signal,
    });
    assert.equal(response.statusCode, 200);
    let text = '';
    const reading = (async () => {
      try {
        for await (const chunk of response.body) {
          text += String(chunk);
          if (text.includes('simulated line')) break;
        }
      } catch {
        /* aborted */
      }
    })();
    // The sample app logs nothing per request, so write to its log file as the process would.
    const instance = (await h.client.request<ServiceStatus>('GET', '/api/v1/services/web')).active!.instances[0]!;
    const logFile = path.join(h.dir, 'state', 'logs', 'web', 'web-1', `${instance.slot}-${instance.index}.log`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    fs.appendFileSync(logFile, 'simulated line\n');
    await Promise.race([reading, new Promise((resolve) => setTimeout(resolve, 5000))]);
    controller.abort();
    assert.match(text, /\[blue-0\] simulated line/);
  });

  it('a deploy with skipHealth records a warning event', async () => {
    const { operation, events } = await operate(h.client, '/api/v1/services/web/deploy', {
      version: 'v2',
      skipHealth: true,
    });
    assert.equal(operation.outcome, 'succeeded');
    const warning = events.find((e) => e.type === 'health.skipped');
    assert.match(warning?.message ?? '', /without being verified/);
    assert.ok(!events.some((e) => e.type === 'release.healthy'));
    baseline = await snapshot();
  });

  it('exposes proxy counters, releases and operations at /metrics in the Prometheus format, behind the token', async () => {
    const denied = await call('GET', '/metrics', { token: null });
    assert.equal(denied.statusCode, 401);
    await denied.body.dump();
    for (let i = 0; i < 5; i++) await (await request(h.proxyUrl, { headers: { host: 'web.localhost' } })).body.dump();
    const response = await call('GET', '/metrics');
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers['content-type']), /text\/plain/);
    const text = await response.body.text();
    const active = (await h.client.request<ServiceStatus>('GET', '/api/v1/services/web')).active!;
    const requests = new RegExp(
      `^cutover_proxy_requests_total\\{service="web",release="${active.releaseId}",version="${active.version}"\\} (\\d+)$`,
      'm',
    ).exec(text);
    assert.ok(requests && Number(requests[1]) >= 5, 'request counter of the active release');
    assert.match(
      text,
      new RegExp(
        `^cutover_proxy_responses_total\\{service="web",release="${active.releaseId}",version="${active.version}",class="2xx"\\} \\d+$`,
        'm',
      ),
    );
    assert.match(text, /^# TYPE cutover_proxy_request_duration_seconds histogram$/m);
    assert.match(
      text,
      new RegExp(
        `^cutover_proxy_request_duration_seconds_bucket\\{service="web",release="${active.releaseId}",version="${active.version}",le="\\+Inf"\\} \\d+$`,
        'm',
      ),
    );
    assert.match(
      text,
      new RegExp(
        `^cutover_release_active\\{service="web",release="${active.releaseId}",version="${active.version}",slot="${active.slot}"\\} 1$`,
        'm',
      ),
    );
    assert.match(
      text,
      /^cutover_operations_total\{service="web",kind="deploy",strategy="blue-green",outcome="succeeded"\} [1-9]\d*$/m,
    );
    assert.match(
      text,
      /^cutover_operation_duration_seconds_count\{service="web",kind="deploy",strategy="blue-green",outcome="succeeded"\} [1-9]\d*$/m,
    );
    assert.match(text, /^cutover_instance_healthy\{service="web",release="[^"]+",instance="[^"]+"\} 1$/m);
  });

  it('compares tokens exactly', () => {
    assert.equal(tokenMatches('abc', 'Bearer abc'), true);
    assert.equal(tokenMatches('abc', 'Bearer abd'), false);
    assert.equal(tokenMatches('abc', 'abc'), false);
    assert.equal(tokenMatches('abc', undefined), false);
    const fromEnv = 'from-env-0123456789abcdef0123456789abcdef';
    assert.equal(loadOrCreateToken(h.dir, { CUTOVER_TOKEN: fromEnv }), fromEnv);
  });
});
