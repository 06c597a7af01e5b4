import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Pool } from 'undici';
import { NginxRouter } from '../../../src/router/nginx/nginx-router.js';
import { startNginxServer, type RunningNginxServer } from '../../support/nginx-server.js';
import { freePort, route, sleep, startSampleApp, type SampleApp } from '../proxy-fixtures.js';

/**
 * A blue-green switch through a real nginx under kept-alive load, and the
 * counters cutover rebuilds from nginx's access log.
 */
describe('nginx router: blue-green switch and counters', () => {
  let nginx: RunningNginxServer;
  let router: NginxRouter;
  let apps: SampleApp[] = [];
  let blue: SampleApp;
  let green: SampleApp;
  let flaky: SampleApp;
  let url: string;

  before(async () => {
    nginx = await startNginxServer();
    apps = await Promise.all([startSampleApp('v1'), startSampleApp('v2'), startSampleApp('v3-errors20')]);
    [blue, green, flaky] = apps as [SampleApp, SampleApp, SampleApp];
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    router = await NginxRouter.attach({
      mainConfig: nginx.mainConfig,
      includeFile: nginx.includeFile,
      listen: { host: '127.0.0.1', port },
      stateDir: path.join(nginx.dir, 'state'),
    });
  });

  after(async () => {
    await router?.close();
    await nginx?.stop();
    await Promise.all(apps.map((app) => app.stop()));
  });

  it('switches under keep-alive load: every request sent after setRoute resolved is served by v2', async (t) => {
    const blueRoute = route('web', ['web.test'], 'r1', [blue.upstream('web/r1/0')], { version: 'v1' });
    const greenRoute = route('web', ['web.test'], 'r2', [green.upstream('web/r2/0')], { version: 'v2' });
    await router.setRoute(blueRoute);

    const connections = 4;
    const client = new Pool(url, { connections, pipelining: 1 });
    let resolved = false;
    const seen = {
      beforeResolve: { v1: 0, v2: 0 } as Record<string, number>,
      afterResolve: { v1: 0, v2: 0 } as Record<string, number>,
    };
    const httpFailures: string[] = [];
    const connectionErrors: string[] = [];
    const loadEndsAt = Date.now() + 2_000;
    const worker = async (): Promise<void> => {
      while (Date.now() < loadEndsAt) {
        const sentAfterResolve = resolved;
        try {
          const response = await client.request({ path: '/', method: 'GET', headers: { host: 'web.test' } });
          const text = await response.body.text();
          if (response.statusCode !== 200) {
            httpFailures.push(`${response.statusCode} ${text.slice(0, 80)}`);
            continue;
          }
          const version = (JSON.parse(text) as { version: string }).version;
          const bucket = sentAfterResolve ? seen.afterResolve : seen.beforeResolve;
          bucket[version] = (bucket[version] ?? 0) + 1;
        } catch (error) {
          connectionErrors.push(String((error as { code?: string }).code ?? error));
        }
      }
    };
    const load = Promise.all(Array.from({ length: connections }, () => worker()));
    await sleep(700);
    await router.setRoute(greenRoute);
    resolved = true;
    await load;
    await client.close();

    t.diagnostic(
      `responses ${JSON.stringify(seen)}, http failures ${httpFailures.length}, connection errors ${connectionErrors.length} ${JSON.stringify(connectionErrors)}`,
    );
    assert.ok((seen.beforeResolve.v1 ?? 0) > 0, 'v1 served before the switch');
    assert.equal(seen.afterResolve.v1 ?? 0, 0, 'no request sent after setRoute resolved reached v1');
    assert.ok((seen.afterResolve.v2 ?? 0) > 0, 'v2 served after the switch');
    // nginx never answered an error itself: no 502/503 during the reload.
    assert.deepEqual(httpFailures, []);
    // A reload can cut a kept-alive connection under a request the client was sending, at most once per connection.
    assert.ok(
      connectionErrors.length <= connections,
      `at most one cut per kept-alive connection, got ${connectionErrors.length}`,
    );

    const drained = await router.drain('web', 'r1', 5_000);
    assert.deepEqual(drained, { drained: true, closed: 0 });
  });

  it('counts requests per release and status class from the access log, and nginx-made errors as error', async () => {
    const deadPort = await freePort();
    await Promise.all([
      router.setRoute(route('shop', ['shop.test'], 's3', [flaky.upstream('shop/s3/0')], { version: 'v3-errors20' })),
      router.setRoute(route('api', ['api.test'], 'a1', [{ id: 'api/a1/0', host: '127.0.0.1', port: deadPort }])),
    ]);
    const client = new Pool(url, { connections: 2 });
    const statuses: number[] = [];
    for (let i = 0; i < 50; i++) {
      const response = await client.request({ path: '/', method: 'GET', headers: { host: 'shop.test' } });
      await response.body.dump();
      statuses.push(response.statusCode);
    }
    for (let i = 0; i < 5; i++) {
      const response = await client.request({ path: '/', method: 'GET', headers: { host: 'api.test' } });
      await response.body.dump();
      assert.equal(response.statusCode, 502);
    }
    await client.close();
    // The sample app fails every fifth request: 40 × 200, 10 × 500.
    assert.equal(statuses.filter((s) => s === 500).length, 10);

    // nginx writes a log line when the response is sent: wait for the last ones to land (not a timing assertion).
    const find = (releaseId: string) => router.counters().find((c) => c.releaseId === releaseId);
    for (let i = 0; i < 100 && ((find('s3')?.requests ?? 0) < 50 || (find('a1')?.requests ?? 0) < 5); i++)
      await sleep(20);
    const shop = find('s3');
    assert.ok(shop !== undefined);
    assert.equal(shop.service, 'shop');
    assert.equal(shop.requests, 50);
    assert.deepEqual(shop.status, { '1xx': 0, '2xx': 40, '3xx': 0, '4xx': 0, '5xx': 10, error: 0 });
    assert.equal(shop.latency.count, 50);
    assert.equal(shop.inFlight, 0);
    assert.equal(router.latencySamples('shop', 's3').length, 50);
    const api = find('a1');
    assert.ok(api !== undefined);
    assert.equal(api.requests, 5);
    assert.deepEqual(api.status, { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, error: 5 });
    assert.equal(api.latency.count, 0);
  });

  it('folds changes made during an apply into one next apply, and takes an unhealthy instance out of rotation', async () => {
    const generation = (): number =>
      Number(/Generation [0-9a-f]+-(\d+)\./.exec(fs.readFileSync(nginx.includeFile, 'utf8'))?.[1]);
    const start = generation();
    const services = ['s1', 's2', 's3', 's4', 's5'];
    // Made in one tick: all join the same apply.
    await Promise.all(
      services.map((name) =>
        router.setRoute(
          route(name, [`${name}.test`], `${name}-r1`, [blue.upstream(`${name}/0`), green.upstream(`${name}/1`)]),
        ),
      ),
    );
    assert.equal(generation(), start + 1);

    router.setUpstreamHealthy('s1/1', false);
    router.setUpstreamHealthy('s2/1', false);
    // Queued behind the background apply of the health changes (or folded into it): once it resolves, both are in.
    await router.setRoute(route('s3', ['s3.test'], 's3-r1', [blue.upstream('s3/0')]));
    assert.ok(generation() <= start + 3);
    const client = new Pool(url, { connections: 2 });
    for (let i = 0; i < 10; i++) {
      const response = await client.request({ path: '/', method: 'GET', headers: { host: 's1.test' } });
      assert.equal(
        ((await response.body.json()) as { version: string }).version,
        'v1',
        'the unhealthy v2 instance gets no request',
      );
    }
    await client.close();
  });
});
