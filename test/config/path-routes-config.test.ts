import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertPathPrefix } from '../../src/router/nginx/nginx-names.js';
import { issueAt, issuesOf, parse } from './issues-of.js';

// routes (services sharing a host by path prefix) and max_body, as cutover.yaml says them.
describe('path routes and max_body in cutover.yaml', () => {
  it('reads routes and max_body; a service reached by paths only has no host of its own', () => {
    const config = parse(
      'services:\n  web: { command: x, hosts: [shop.test] }\n  api: { command: y, routes: [{ host: Shop.Test, path_prefix: /api, strip_prefix: true }, { host: shop.test, path_prefix: /v2/api }], max_body: 10MiB }\n',
    );
    assert.deepEqual(config.services.api?.paths, [
      { host: 'shop.test', prefix: '/api', strip: true },
      { host: 'shop.test', prefix: '/v2/api', strip: false },
    ]);
    assert.deepEqual(config.services.api?.hosts, []);
    assert.equal(config.services.api?.maxBodyBytes, 10 * 1024 * 1024);
    assert.equal(config.services.web?.maxBodyBytes, undefined);
  });

  it('refuses prefixes that are not plain paths', () => {
    for (const prefix of ['api', '/api/', '/a/../b', '/a/./b', '"/a b"', '"/a?x"', '"/a#x"']) {
      const { byPath } = issuesOf(
        `services:\n  api: { command: y, routes: [{ host: shop.test, path_prefix: ${prefix} }] }\n`,
      );
      assert.match(
        issueAt(byPath, 'services.api.routes[0].path_prefix').message,
        /expected a path prefix like \/api/,
        prefix,
      );
    }
  });

  it('refuses at load, with router nginx, a prefix nginx would refuse at the first deploy', () => {
    const nginxServer =
      'server: { router: nginx, nginx: { main_config: /etc/nginx/nginx.conf, include_file: /etc/nginx/conf.d/c.conf } }\n';
    for (const prefix of ['/caf%C3%A9', '/a;b', '/a$b']) {
      const service = `services:\n  api: { command: y, routes: [{ host: shop.test, path_prefix: "${prefix}" }] }\n`;
      // The proxy matches the raw target, so it takes the prefix; nginx matches decoded paths and cannot.
      assert.equal(parse(service).services.api?.paths?.[0]?.prefix, prefix);
      assert.throws(() => assertPathPrefix('api', prefix), /cannot be routed by nginx/);
      const { byPath } = issuesOf(nginxServer + service);
      assert.match(
        issueAt(byPath, 'services.api.routes[0].path_prefix').message,
        /nginx router matches decoded paths/,
        prefix,
      );
    }
  });

  it('refuses the same host and prefix for two services, and routes or max_body with HAProxy (not nginx)', () => {
    const clash = issuesOf(
      'services:\n  a: { command: x, routes: [{ host: s.test, path_prefix: /api }] }\n  b: { command: y, routes: [{ host: s.test, path_prefix: /api }] }\n',
    );
    assert.match(
      issueAt(clash.byPath, 'services.b.routes[0]').message,
      /s\.test\/api is already routed to service 'a'/,
    );
    const haproxy = issuesOf(
      'server: { router: haproxy }\nservices:\n  a: { command: x, hosts: [a.test], max_body: 1MiB, routes: [{ host: s.test, path_prefix: /a }] }\n',
    );
    assert.match(issueAt(haproxy.byPath, 'services.a.max_body').message, /haproxy router does not answer max_body/);
    assert.match(issueAt(haproxy.byPath, 'services.a.routes').message, /haproxy router does not answer routes/);
    const nginx = parse(
      'server: { router: nginx, nginx: { main_config: /etc/nginx/nginx.conf, include_file: /etc/nginx/conf.d/c.conf } }\nservices:\n  a: { command: x, hosts: [a.test], max_body: 1MiB, routes: [{ host: s.test, path_prefix: /a }] }\n',
    );
    assert.equal(nginx.services.a?.maxBodyBytes, 1024 * 1024);
  });
});
