import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isCutoverError } from '../../src/core/errors.js';
import { buildRouteTable, normalizeHost, type RouteTable } from '../../src/router/route-table.js';
import type { ServiceRoute, Upstream } from '../../src/router/index.js';

function upstreams(...ids: string[]): Upstream[] {
  return ids.map((id, i) => ({ id, host: '127.0.0.1', port: 4000 + i }));
}

function route(
  service: string,
  hosts: string[],
  isDefault: boolean,
  ids: string[] | null,
  releaseId = `${service}-r1`,
): ServiceRoute {
  return {
    service,
    hosts,
    default: isDefault,
    target: ids === null ? null : { releaseId, version: 'v1', slot: 'blue', upstreams: upstreams(...ids) },
  };
}

const bindNothing = (): null => null;
const healthy: ReadonlySet<string> = new Set();

function picks(table: RouteTable<null>, host: string, count: number, unhealthy = healthy): string[] {
  const target = table.lookup(host)?.target;
  assert.ok(target, `a target for ${host}`);
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const index = target.pick(unhealthy);
    ids.push(index < 0 ? '-' : (target.upstreams[index]?.id ?? '?'));
  }
  return ids;
}

describe('route table: host → service', () => {
  const table = buildRouteTable(
    [route('web', ['Example.com', 'www.example.com'], true, ['w1']), route('api', ['api.example.com'], false, ['a1'])],
    bindNothing,
  );

  it('matches hosts case-insensitively and ignores the port', () => {
    assert.equal(table.lookup('example.com')?.service, 'web');
    assert.equal(table.lookup('EXAMPLE.COM:8080')?.service, 'web');
    assert.equal(table.lookup('Api.Example.Com')?.service, 'api');
    assert.equal(table.lookup('api.example.com:443')?.service, 'api');
  });

  it('sends unknown or missing hosts to the default service', () => {
    assert.equal(table.lookup('unknown.test')?.service, 'web');
    assert.equal(table.lookup(undefined)?.service, 'web');
    assert.equal(table.lookup('')?.service, 'web');
  });

  it('has no answer for an unknown host when no service is default', () => {
    const noDefault = buildRouteTable([route('api', ['api.example.com'], false, ['a1'])], bindNothing);
    assert.equal(noDefault.lookup('unknown.test'), undefined);
    assert.equal(noDefault.lookup('api.example.com.evil.test'), undefined);
    assert.equal(noDefault.lookup('api.example.co'), undefined);
  });

  it('normalises IPv6 literals and ports', () => {
    assert.equal(normalizeHost('[::1]:8080'), '[::1]');
    assert.equal(normalizeHost('LocalHost:3000'), 'localhost');
    const v6 = buildRouteTable([route('web', ['[::1]'], false, ['w1'])], bindNothing);
    assert.equal(v6.lookup('[::1]:9000')?.service, 'web');
  });

  it('refuses a host claimed by two services and two default services', () => {
    assert.throws(
      () => buildRouteTable([route('a', ['x.test'], false, ['1']), route('b', ['X.test'], false, ['2'])], bindNothing),
      (error: unknown) => isCutoverError(error) && error.code === 'CONFIG_INVALID' && /x\.test/.test(error.message),
    );
    assert.throws(
      () => buildRouteTable([route('a', [], true, ['1']), route('b', [], true, ['2'])], bindNothing),
      (error: unknown) => isCutoverError(error) && /both marked default/.test(error.message),
    );
  });

  it('binds nothing when it refuses the routes', () => {
    let binds = 0;
    assert.throws(() =>
      buildRouteTable([route('a', ['x.test'], false, ['1']), route('b', ['x.test'], false, ['2'])], () => {
        binds++;
        return null;
      }),
    );
    assert.equal(binds, 0);
  });

  it('keeps a service without a target (it answers 503)', () => {
    const empty = buildRouteTable([route('web', ['web.test'], false, null)], bindNothing);
    assert.equal(empty.lookup('web.test')?.target, null);
  });
});

describe('route table: picking an upstream', () => {
  it('goes round-robin over the upstreams', () => {
    const table = buildRouteTable([route('web', ['w'], false, ['a', 'b', 'c'])], bindNothing);
    assert.deepEqual(picks(table, 'w', 7), ['a', 'b', 'c', 'a', 'b', 'c', 'a']);
  });

  it('skips unhealthy upstreams and answers -1 when none is healthy', () => {
    const table = buildRouteTable([route('web', ['w'], false, ['a', 'b', 'c'])], bindNothing);
    assert.deepEqual(picks(table, 'w', 4, new Set(['b'])), ['a', 'c', 'a', 'c']);
    assert.deepEqual(picks(table, 'w', 2, new Set(['a', 'b', 'c'])), ['-', '-']);
    assert.deepEqual(picks(table, 'w', 3), ['a', 'b', 'c'], 'back in rotation once healthy');
  });

  it('offers each healthy upstream at most once for a retry', () => {
    const table = buildRouteTable([route('web', ['w'], false, ['a', 'b', 'c', 'd'])], bindNothing);
    const target = table.lookup('w')?.target;
    assert.ok(target);
    const unhealthy = new Set(['c']);
    const first = 1; // b
    const tried = [first];
    for (
      let next = target.nextAfter(first, first, unhealthy);
      next >= 0;
      next = target.nextAfter(first, next, unhealthy)
    ) {
      tried.push(next);
    }
    assert.deepEqual(
      tried.map((i) => target.upstreams[i]?.id),
      ['b', 'd', 'a'],
    );
    const single = buildRouteTable([route('one', ['o'], false, ['x'])], bindNothing).lookup('o')?.target;
    assert.equal(single?.nextAfter(0, 0, healthy), -1);
  });

  it('binds adapter data once per target and reuses unchanged services on rebuild', () => {
    let binds = 0;
    const bind = (service: string, target: { releaseId: string }): string => {
      binds++;
      return `${service}:${target.releaseId}`;
    };
    const web = route('web', ['w'], false, ['a', 'b']);
    const first = buildRouteTable([web, route('api', ['x'], false, ['c'])], bind);
    assert.equal(first.lookup('w')?.target?.binding, 'web:web-r1');
    assert.equal(binds, 2);
    first.lookup('w')?.target?.pick(healthy); // cursor now on b
    const second = buildRouteTable([web, route('api', ['x'], false, ['d'], 'api-r2')], bind, first);
    assert.equal(binds, 3, 'only the changed service is bound again');
    assert.equal(second.lookup('w'), first.lookup('w'), 'the unchanged entry is the same object');
    assert.equal(second.lookup('x')?.target?.binding, 'api:api-r2');
    assert.equal(first.lookup('x')?.target?.binding, 'api:api-r1', 'the old table still routes to the old target');
  });
});

describe('route table: canary', () => {
  function canaryRoute(weight: number, canary: Partial<NonNullable<ServiceRoute['canary']>> = {}): ServiceRoute {
    return {
      ...route('web', ['w'], false, ['s1'], 'r-stable'),
      canary: {
        target: { releaseId: 'r-canary', version: 'v2', slot: 'green', upstreams: upstreams('c1', 'c2') },
        weight,
        stickiness: { by: 'header', name: 'X-User-Id' },
        match: [
          { header: 'X-Canary', value: 'always' },
          { cookie: 'Canary', value: '1' },
        ],
        ...canary,
      },
    };
  }

  it('binds the canary target next to the stable one and prepares its rules once', () => {
    const bound: string[] = [];
    const table = buildRouteTable([canaryRoute(25)], (_service, target) => {
      bound.push(target.releaseId);
      return target.releaseId;
    });
    const entry = table.lookup('w');
    assert.deepEqual(bound, ['r-stable', 'r-canary']);
    assert.equal(entry?.target?.binding, 'r-stable');
    assert.equal(entry?.canary?.target.binding, 'r-canary');
    assert.equal(entry?.canary?.stickyName, 'x-user-id', 'header names are compared in lower case');
    assert.deepEqual(entry?.canary?.headerRules, [{ name: 'x-canary', value: 'always' }]);
    assert.deepEqual(entry?.canary?.cookieRules, [{ name: 'Canary', value: '1' }], 'cookie names keep their case');
    assert.equal(entry?.routesRelease('r-stable'), true);
    assert.equal(entry?.routesRelease('r-canary'), true);
    assert.equal(entry?.routesRelease('r-old'), false);
  });

  it('has no canary without one, or when the canary is the stable release itself', () => {
    assert.equal(buildRouteTable([route('web', ['w'], false, ['s1'])], bindNothing).lookup('w')?.canary, null);
    assert.equal(
      buildRouteTable([{ ...route('web', ['w'], false, ['s1']), canary: null }], bindNothing).lookup('w')?.canary,
      null,
    );
    const same = canaryRoute(50);
    same.canary!.target.releaseId = 'r-stable';
    assert.equal(buildRouteTable([same], bindNothing).lookup('w')?.canary, null);
  });

  it('admits a growing, stable set of keys as the weight rises', () => {
    const keys = Array.from({ length: 2_000 }, (_, i) => `u${i}`);
    let previous = new Set<string>();
    for (const weight of [0, 5, 25, 50, 100]) {
      const canary = buildRouteTable([canaryRoute(weight)], bindNothing).lookup('w')?.canary;
      assert.ok(canary);
      const admitted = new Set(keys.filter((key) => canary.admits(key)));
      for (const key of previous) assert.ok(admitted.has(key), `${key} stays on the canary at ${weight} %`);
      assert.ok(
        Math.abs(admitted.size / keys.length - weight / 100) < 0.03,
        `${admitted.size} of ${keys.length} at ${weight} %`,
      );
      previous = admitted;
    }
  });

  it('needs no request headers at weight 0 or 100 without rules, or when sticky by ip', () => {
    const table = (weight: number, by: 'cookie' | 'header' | 'ip', match: { header: string; value: string }[] = []) =>
      buildRouteTable(
        [canaryRoute(weight, { stickiness: { by, name: by === 'ip' ? '' : 'k' }, match })],
        bindNothing,
      ).lookup('w')?.canary;
    assert.equal(table(0, 'cookie')?.readsHeaders, false);
    assert.equal(table(100, 'header')?.admitsAll, true);
    assert.equal(table(100, 'header')?.readsHeaders, false);
    assert.equal(table(30, 'ip')?.readsHeaders, false);
    assert.equal(table(30, 'cookie')?.readsHeaders, true);
    assert.equal(table(0, 'ip', [{ header: 'X-Canary', value: 'always' }])?.readsHeaders, true);
  });

  it('refuses a weight outside 0-100, a nameless stickiness and an empty match rule, binding nothing', () => {
    let binds = 0;
    const bind = (): null => {
      binds++;
      return null;
    };
    for (const bad of [
      canaryRoute(101),
      canaryRoute(-1),
      canaryRoute(Number.NaN),
      canaryRoute(10, { stickiness: { by: 'cookie', name: '' } }),
      canaryRoute(10, { match: [{ value: 'x' }] }),
    ]) {
      assert.throws(
        () => buildRouteTable([bad], bind),
        (error: unknown) => isCutoverError(error) && error.code === 'CONFIG_INVALID',
      );
    }
    assert.equal(binds, 0);
  });
});
