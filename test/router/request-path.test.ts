import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { escapedPath, needsNormalizing, normalizedPath } from '../../src/router/request-path.js';
import { buildRouteTable, routePrefix } from '../../src/router/route-table.js';
import type { ServiceRoute } from '../../src/router/index.js';

/**
 * The path a path route is matched against, on every router (what nginx
 * matches its locations against; the edge contract's `pathForms` holds the
 * proxy and nginx to it with real requests). Here the rule itself.
 */
describe('the path a path route is matched against', () => {
  it('is left alone when nothing in it would change, and only then', () => {
    for (const url of ['/', '/api/users', '/api?q=%41&r=//x/../', '/a.b/c.', '/v1.2/x'])
      assert.equal(needsNormalizing(url), false, url);
    for (const url of ['/%61pi', '//api', '/api//x', '/./api', '/a/../b', '/.well-known/x', '/a/.'])
      assert.equal(needsNormalizing(url), true, url);
  });

  it('is decoded, with slashes merged and dot segments resolved, as nginx does', () => {
    const cases: [string, string][] = [
      ['/%61pi/x', '/api/x'],
      ['//api/x', '/api/x'],
      ['/static/../api/x', '/api/x'],
      ['/api%2Fx', '/api/x'],
      ['/%2Fapi/x', '/api/x'],
      ['/x/%2e%2e/api/y', '/api/y'],
      ['/x/..%2Fapi/y', '/api/y'],
      ['/api/./x', '/api/x'],
      ['/./api', '/api'],
      ['/api/.', '/api/'],
      ['/api/..', '/'],
      ['/api/x/..', '/api/'],
      ['/api//', '/api/'],
      ['/api%3Fx?q=1', '/api?x'],
      ['/a%20b', '/a b'],
      ['/%C3%A9', '/\u00c3\u00a9'],
      ['/api/...', '/api/...'],
      ['/api?x=/../..', '/api'],
    ];
    for (const [url, path] of cases) assert.equal(normalizedPath(url), path, url);
  });

  it('cannot be matched when it climbs above / or has a broken escape or a NUL', () => {
    for (const url of [
      '/..',
      '/../api',
      '/api/../..',
      '/%2e%2e/api',
      '/.%2e/api',
      '/api%2F..%2F..',
      '/api%',
      '/api%zz',
      '/api%2',
      '/api%00x',
    ])
      assert.equal(normalizedPath(url), null, url);
  });

  it('is escaped again as nginx escapes a rewritten path', () => {
    assert.equal(escapedPath('/a b/c?d#e%f'), '/a%20b/c%3Fd%23e%25f');
    assert.equal(escapedPath('/"<>\\^`{|}'), '/%22%3C%3E%5C%5E%60%7B%7C%7D');
    assert.equal(escapedPath("/!$&'()*+,;=:@[]~-._"), "/!$&'()*+,;=:@[]~-._");
    assert.equal(escapedPath('/\u00c3\u00a9\u0001\u007f'), '/%C3%A9%01%7F');
    assert.equal(escapedPath('/\u20ac'), '/%E2%82%AC', 'a character past latin1 (an HTTP/2 :path) as its UTF-8 bytes');
    assert.equal(escapedPath('/plain/path'), '/plain/path');
  });

  it('is what a configured prefix is compared as, and a prefix normalising cannot keep under / is refused', () => {
    assert.equal(routePrefix('/api'), '/api');
    assert.equal(routePrefix('/%61pi'), '/api');
    assert.equal(routePrefix('/caf%C3%A9'), '/caf\u00c3\u00a9');
    assert.equal(routePrefix('/api%2F'), '/api');
    assert.throws(() => routePrefix('/%2e%2e'), /does not name a path under/);
    const route = (service: string, prefix: string): ServiceRoute => ({
      service,
      hosts: [],
      default: false,
      target: null,
      paths: [{ host: 'shop.test', prefix, strip: false }],
    });
    assert.throws(
      () => buildRouteTable([route('a', '/api'), route('b', '/%61pi')], () => null),
      /shop\.test\/api is claimed by services 'a' and 'b'/,
    );
    const table = buildRouteTable([route('cafe', '/caf%C3%A9')], () => null);
    assert.equal(table.lookup('shop.test', '/caf%c3%a9/menu')?.service, 'cafe');
    assert.equal(table.lookup('shop.test', '/../x'), undefined);
    assert.equal(table.badPath, true);
    assert.equal(table.lookup('shop.test', '/caf%C3%A9'), table.services.get('cafe'));
    assert.equal(table.badPath, false);
  });
});
