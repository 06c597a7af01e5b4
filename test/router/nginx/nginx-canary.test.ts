import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Pool } from 'undici';
import type { CanaryRoute, ServiceRoute } from '../../../src/router/index.js';
import { NginxRouter } from '../../../src/router/nginx/nginx-router.js';
import { startNginxServer, type RunningNginxServer } from '../../support/nginx-server.js';
import { freePort, route, startSampleApp, type SampleApp } from '../proxy-fixtures.js';

/**
 * Canary routing through a real nginx: weights, cookie stickiness (set by
 * nginx when the client has none), monotone steps, and match rules.
 */
describe('nginx router: canary', () => {
  let nginx: RunningNginxServer;
  let router: NginxRouter;
  let apps: SampleApp[] = [];
  let stable: SampleApp;
  let canary: SampleApp;
  let client: Pool;

  before(async () => {
    nginx = await startNginxServer();
    apps = await Promise.all([startSampleApp('v1'), startSampleApp('v2')]);
    [stable, canary] = apps as [SampleApp, SampleApp];
    const port = await freePort();
    router = await NginxRouter.attach({
      mainConfig: nginx.mainConfig,
      includeFile: nginx.includeFile,
      listen: { host: '127.0.0.1', port },
      stateDir: path.join(nginx.dir, 'state'),
    });
    client = new Pool(`http://127.0.0.1:${port}`, { connections: 8 });
  });

  after(async () => {
    await client?.close();
    await router?.close();
    await nginx?.stop();
    await Promise.all(apps.map((app) => app.stop()));
  });

  function withCanary(service: string, weight: number, extra: Partial<CanaryRoute> = {}): ServiceRoute {
    return {
      ...route(service, [`${service}.test`], `${service}-1`, [stable.upstream(`${service}/1/0`)], { version: 'v1' }),
      canary: {
        target: {
          releaseId: `${service}-2`,
          version: 'v2',
          slot: 'green',
          upstreams: [canary.upstream(`${service}/2/0`)],
        },
        weight,
        stickiness: { by: 'cookie', name: 'cutover_canary' },
        match: [],
        ...extra,
      },
    };
  }

  async function get(
    host: string,
    headers: Record<string, string> = {},
  ): Promise<{ version: string; setCookie: string | null }> {
    const response = await client.request({ path: '/', method: 'GET', headers: { host, ...headers } });
    const body = (await response.body.json()) as { version: string };
    assert.equal(response.statusCode, 200);
    const setCookie = response.headers['set-cookie'];
    return { version: body.version, setCookie: typeof setCookie === 'string' ? setCookie : (setCookie?.[0] ?? null) };
  }

  /** Runs `count` calls, 8 at a time. */
  async function each<T>(count: number, call: (index: number) => Promise<T>): Promise<T[]> {
    const results: T[] = new Array<T>(count);
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < count) {
          const index = next++;
          results[index] = await call(index);
        }
      }),
    );
    return results;
  }

  /** A canary share off by more than 4.5 standard deviations of a binomial: practically never by chance. */
  function assertShare(onCanary: number, clients: number, weight: number, what: string): void {
    const p = weight / 100;
    const tolerance = 4.5 * Math.sqrt((p * (1 - p)) / clients);
    const share = onCanary / clients;
    assert.ok(
      Math.abs(share - p) <= tolerance,
      `${what}: canary share ${share.toFixed(3)} at weight ${weight} (tolerance ±${tolerance.toFixed(3)})`,
    );
  }

  it('steps 5 → 25 → 50 → 100 with cookie stickiness: shares follow the weight, and clients only move to the canary', async (t) => {
    const clients = 400;
    let cohort: string[] = [];
    let previousOnCanary: Set<number> | null = null;
    for (const weight of [5, 25, 50, 100]) {
      await router.setRoute(withCanary('web', weight));

      // Fresh clients: no cookie yet.
      const fresh = await each(clients, () => get('web.test'));
      const freshOnCanary = fresh.filter((r) => r.version === 'v2').length;
      if (weight < 100) {
        assertShare(freshOnCanary, clients, weight, `fresh clients at ${weight}`);
        for (const response of fresh)
          assert.match(response.setCookie ?? '', /^cutover_canary=[0-9a-f]{32}; Path=\/; HttpOnly; SameSite=Lax$/);
        // Sticky at the same weight: each fresh client, back with its cookie, lands where it first did.
        const again = await each(clients, (i) =>
          get('web.test', { cookie: (fresh[i]?.setCookie ?? '').split(';')[0] ?? '' }),
        );
        assert.deepEqual(
          again.map((r) => r.version),
          fresh.map((r) => r.version),
        );
        assert.ok(
          again.every((r) => r.setCookie === null),
          'no cookie is set for a client that has one',
        );
      } else {
        assert.equal(freshOnCanary, clients, 'at 100 every client is on the canary');
        assert.ok(
          fresh.every((r) => r.setCookie === null),
          'no sticky cookie is needed at 100',
        );
      }
      if (weight === 5) cohort = fresh.map((r) => (r.setCookie ?? '').split(';')[0] ?? '');

      // The cohort made at 5 %: who is on the canary now must include everyone who was before.
      const cohortNow = await each(clients, (i) => get('web.test', { cookie: cohort[i] ?? '' }));
      const onCanary = new Set(cohortNow.flatMap((r, i) => (r.version === 'v2' ? [i] : [])));
      if (weight < 100) assertShare(onCanary.size, clients, weight, `the cohort at ${weight}`);
      if (previousOnCanary !== null) {
        const movedBack: number[] = [...previousOnCanary].filter((i) => !onCanary.has(i));
        assert.deepEqual(movedBack, [], `clients moved from canary back to stable when the weight rose to ${weight}`);
      }
      t.diagnostic(
        `weight ${weight}: fresh clients on canary ${freshOnCanary}/${clients}, cohort ${onCanary.size}/${clients}`,
      );
      previousOnCanary = onCanary;
    }
    assert.equal(previousOnCanary?.size, clients);
  });

  it('sends a request matching a rule to the canary at weight 0, and everyone else to stable', async () => {
    await router.setRoute(
      withCanary('api', 0, {
        stickiness: { by: 'header', name: 'X-User-Id' },
        match: [
          { header: 'X-Canary', value: 'always' },
          { cookie: 'beta', value: 'yes' },
        ],
      }),
    );
    const plain = await each(40, (i) => get('api.test', { 'x-user-id': `user-${i}` }));
    assert.ok(
      plain.every((r) => r.version === 'v1'),
      'weight 0: no plain request reaches the canary',
    );
    const matched = await each(20, () => get('api.test', { 'x-canary': 'always' }));
    assert.ok(
      matched.every((r) => r.version === 'v2'),
      'the match header reaches the canary',
    );
    assert.ok(matched.every((r) => r.setCookie === null));
    // Values compare exactly, as in the embedded proxy.
    assert.equal((await get('api.test', { 'x-canary': 'Always' })).version, 'v1');
    assert.equal((await get('api.test', { 'x-canary': 'always-not' })).version, 'v1');
    assert.equal((await get('api.test', { cookie: 'a=1; beta=yes' })).version, 'v2');
    assert.equal((await get('api.test', { cookie: 'beta=yess' })).version, 'v1');
  });

  it('keeps a client on its side by the stickiness header', async () => {
    await router.setRoute(withCanary('api', 50, { stickiness: { by: 'header', name: 'X-User-Id' } }));
    const first = await each(100, (i) => get('api.test', { 'x-user-id': `user-${i}` }));
    const second = await each(100, (i) => get('api.test', { 'x-user-id': `user-${i}` }));
    assert.deepEqual(
      second.map((r) => r.version),
      first.map((r) => r.version),
    );
    assertShare(first.filter((r) => r.version === 'v2').length, 100, 50, 'users by header');
  });
});
