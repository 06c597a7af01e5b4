import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isCutoverError } from '../../src/core/errors.js';
import { buildRouteTable, normalizeHost, type RouteTable } from '../../src/core/route-table.js';
import type { ServiceRoute, Upstream } from '../../src/router/index.js';

function upstreams(...ids: string[]): Upstream[] {
  return ids.map((id, i) => ({ id, host: '127.0.0.1', port: 4000 + i }));
}

function route(service: string, hosts: string[], isDefault: boolean, ids: string[] | null, releaseId = `${service}-r1`): ServiceRoute {
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
    for (let next = target.nextAfter(first, first, unhealthy); next >= 0; next = target.nextAfter(first, next, unhealthy)) {
      tried.push(next);
    }
    assert.deepEqual(tried.map((i) => target.upstreams[i]?.id), ['b', 'd', 'a']);
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
