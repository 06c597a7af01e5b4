import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { isCutoverError } from '../../../src/core/errors.js';
import { serverAddress, serverName, serviceKey } from '../../../src/router/haproxy/haproxy-names.js';
import {
  renderHaproxyConfig,
  routeValue,
  settingsFingerprint,
  UNROUTED_BACKEND,
  type CanaryShape,
  type HaproxyRenderInput,
  type HaproxyServiceConfig,
} from '../../../src/router/haproxy/render-haproxy-config.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-haproxy-render-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function service(name: string, overrides: Partial<HaproxyServiceConfig> = {}): HaproxyServiceConfig {
  return {
    service: name,
    hosts: [`${name}.test`],
    isDefault: false,
    shape: null,
    route: routeValue(`cutover_${serviceKey(name)}_0`, null, 0),
    servers: [[{ name: serverName('r1', `${name}/r1/a`), address: '127.0.0.1:4000', enabled: true }], [], [], []],
    ...overrides,
  };
}

function input(services: HaproxyServiceConfig[]): HaproxyRenderInput {
  return {
    listen: { host: '127.0.0.1', port: 18080 },
    socketPath: path.join(dir, 'haproxy.sock'),
    handoffSocketPath: path.join(dir, 'handoff.sock'),
    hostsMapPath: path.join(dir, 'hosts.map'),
    routesMapPath: path.join(dir, 'routes.map'),
    generation: 'abc-1',
    services,
  };
}

const cookieCanary: CanaryShape = {
  stickiness: { by: 'cookie', name: 'cid' },
  match: [
    { header: 'X-Canary', value: 'always' },
    { cookie: 'beta', value: '1' },
  ],
};

/** Asserts the render is refused as CONFIG_INVALID and says so about `what`. */
function refuses(services: HaproxyServiceConfig[], what: RegExp): void {
  assert.throws(
    () => renderHaproxyConfig(input(services)),
    (error: unknown) => isCutoverError(error) && error.code === 'CONFIG_INVALID' && what.test(error.message),
  );
}

describe('render-haproxy-config', () => {
  it('renders a config HAProxy accepts, with a default service, a canary shape per stickiness and servers', () => {
    const rendered = renderHaproxyConfig(
      input([
        service('web', {
          isDefault: true,
          shape: cookieCanary,
          route: routeValue('cutover_web_0', 'cutover_web_1', 25),
        }),
        service('api', { shape: { stickiness: { by: 'header', name: 'X-User' }, match: [] } }),
        service('admin', { shape: { stickiness: { by: 'ip', name: '' }, match: [] } }),
        service('empty', { route: routeValue(null, null, 0), servers: [[], [], [], []] }),
      ]),
    );
    fs.writeFileSync(path.join(dir, 'haproxy.cfg'), rendered.config);
    fs.writeFileSync(path.join(dir, 'hosts.map'), rendered.hostsMap);
    fs.writeFileSync(path.join(dir, 'routes.map'), rendered.routesMap);
    const check = spawnSync('haproxy', ['-c', '-q', '-f', path.join(dir, 'haproxy.cfg')], { encoding: 'utf8' });
    assert.equal(check.status, 0, check.stderr);
    assert.match(rendered.config, /map_str\(\S+hosts\.map,web\)/, 'the default service is the host lookup’s default');
    assert.match(rendered.hostsMap, /^web\.test web$/m);
    assert.match(rendered.routesMap, /^web cutover_web_0:cutover_web_1:2500$/m);
    assert.match(rendered.routesMap, new RegExp(`^empty ${UNROUTED_BACKEND}:${UNROUTED_BACKEND}:0$`, 'm'));
    assert.match(rendered.config, /req\.cook\(cid\) if cutover_is_web/);
    assert.match(rendered.config, /req\.fhdr\(X-User\) if cutover_is_api/);
    assert.match(rendered.config, /\{ req\.fhdr\(X-Canary\) -m str 'always' \}/);
    assert.match(rendered.config, /stats socket \S+haproxy\.sock mode 600 level admin expose-fd listeners/);
    // The request log (request-log-line.ts): an in-memory ring the frontend logs each request into.
    assert.match(rendered.config, /^ring cutover_requests\n {2}format raw\n {2}maxlen 512\n {2}size 1048576$/m);
    assert.match(rendered.config, /^ {2}log ring@cutover_requests len 512 format raw local0 info$/m);
    assert.match(rendered.config, /^ {2}log-format "cutover-req %b %s %ST %Tr %Ta"$/m);
    assert.match(rendered.config, /^ {2}stats timeout 24h$/m, 'the followed stream is not closed when idle');
  });

  it('renders the service’s timeouts and instance limits, and the client timeouts and limit, in a config HAProxy accepts', () => {
    const traffic = {
      clientHeadersTimeoutMs: 2_500,
      clientKeepAliveTimeoutMs: 30_000,
      maxConnections: 50,
      services: {
        web: {
          connectTimeoutMs: 1_500,
          responseHeadersTimeoutMs: 4_000,
          idleTimeoutMs: 9_000,
          connectionsPerInstance: 7,
          // No waiting: HAProxy reads maxqueue 0 as no limit, so it is rendered as 1.
          pendingPerInstance: 0,
          passiveHealth: { consecutiveFailures: 5, ejectionMs: 30_000, maxEjectionMs: 300_000 },
        },
      },
    };
    const rendered = renderHaproxyConfig({ ...input([service('web'), service('api')]), traffic });
    fs.writeFileSync(path.join(dir, 'traffic.cfg'), rendered.config);
    fs.writeFileSync(path.join(dir, 'hosts.map'), rendered.hostsMap);
    fs.writeFileSync(path.join(dir, 'routes.map'), rendered.routesMap);
    const check = spawnSync('haproxy', ['-c', '-q', '-f', path.join(dir, 'traffic.cfg')], { encoding: 'utf8' });
    assert.equal(check.status, 0, check.stderr);
    assert.match(rendered.config, /^ {2}timeout http-request 2500ms\n {2}timeout http-keep-alive 30000ms$/m);
    assert.match(rendered.config, /^frontend cutover\n {2}bind \S+\n {2}maxconn 50$/m);
    const web = rendered.config.slice(rendered.config.indexOf('backend cutover_web_0'));
    assert.match(web, /^ {2}timeout connect 1500ms\n {2}timeout server 9000ms$/m);
    assert.match(web, /^ {2}server \S+ 127\.0\.0\.1:4000 maxconn 7 maxqueue 1$/m);
    // A service the settings do not name gets cutover's defaults.
    const api = rendered.config.slice(rendered.config.indexOf('backend cutover_api_0'));
    assert.match(api, /^ {2}timeout connect 5000ms\n {2}timeout server 60000ms$/m);
    assert.match(api, /^ {2}server \S+ 127\.0\.0\.1:4000 maxconn 128 maxqueue 128$/m);
    // The settings are part of what an adopting run compares (haproxy-router.ts).
    assert.notEqual(settingsFingerprint({ traffic }), settingsFingerprint({}));
  });

  it('has a stopping worker hand each request to the serving one, before any rule of its own', () => {
    const config = renderHaproxyConfig(input([service('web')])).config;
    const frontend = config.slice(config.indexOf('frontend cutover'), config.indexOf('\nbackend '));
    // The client's kept-alive connection stays open through a reload, closed after its next answer.
    assert.match(frontend, /^ {2}option idle-close-on-response$/m);
    assert.match(frontend, /^ {2}bind unix@\S+\/handoff\.sock mode 600 accept-proxy$/m);
    const rules = frontend.split('\n').filter((line) => line.startsWith('  http-request '));
    assert.deepEqual(rules.slice(0, 2), [
      '  http-request set-var(txn.cutover_handoff) bool(1) if { stopping }',
      '  http-request allow if { var(txn.cutover_handoff) -m bool }',
    ]);
    const backends = frontend.split('\n').filter((line) => line.startsWith('  use_backend '));
    assert.equal(backends[0], '  use_backend cutover_handoff if { var(txn.cutover_handoff) -m bool }');
    assert.match(
      config,
      /^backend cutover_handoff\n {2}timeout server 300s\n {2}server next unix@\S+\/handoff\.sock send-proxy-v2$/m,
    );
    // X-Forwarded-For is added where a request meets its instance, not by a worker that hands it on.
    assert.doesNotMatch(frontend, /option forwardfor/);
    assert.match(
      config.slice(config.indexOf('backend cutover_web_0')),
      /^backend cutover_web_0\n {2}balance roundrobin\n {2}option forwardfor$/m,
    );
    assert.throws(
      () => renderHaproxyConfig({ ...input([service('web')]), handoffSocketPath: '/tmp/a b.sock' }),
      (error: unknown) => isCutoverError(error) && error.code === 'CONFIG_INVALID',
    );
  });

  it('is pure: the same input renders the same text', () => {
    const services = [service('web', { shape: cookieCanary }), service('api')];
    assert.deepEqual(renderHaproxyConfig(input(services)), renderHaproxyConfig(input([...services].reverse())));
  });

  it('routes a weight as a threshold of 10,000 buckets; no canary means threshold 0', () => {
    assert.equal(routeValue('a', 'b', 0), 'a:b:0');
    assert.equal(routeValue('a', 'b', 12.34), 'a:b:1234');
    assert.equal(routeValue('a', 'b', 100), 'a:b:10000');
    assert.equal(routeValue('a', null, 50), 'a:a:0');
    assert.equal(routeValue(null, 'b', 50), 'b:b:5000');
  });

  it('refuses hostile hosts: no newline, space, quote, wildcard or map syntax gets into the map or config', () => {
    for (const host of ['a.test\nfrontend evil', 'a.test evil', "a'test", '*.a.test', 'a.test#x', '', 'A.TEST'])
      refuses([service('web', { hosts: [host] })], /host/);
  });

  it('refuses hostile header and cookie names and match values', () => {
    const shape = (stickiness: CanaryShape['stickiness'], match: CanaryShape['match'] = []): CanaryShape => ({
      stickiness,
      match,
    });
    for (const name of ['X-User\n  bind :80', 'X-User) if TRUE', 'X User', 'X;User', 'X%[src]', ''])
      refuses([service('web', { shape: shape({ by: 'header', name }) })], /header name/);
    for (const name of ['cid\nbackend x', 'c d', 'c"d', 'c;d', 'c%[src]'])
      refuses([service('web', { shape: shape({ by: 'cookie', name }) })], /cookie name/);
    for (const value of ["always' } || TRUE { '", 'a\nb', 'a b', 'a;b', 'a#b', 'a%[src]', 'a$HOME', 'a\\b', ''])
      refuses(
        [service('web', { shape: shape({ by: 'ip', name: '' }, [{ header: 'X-Canary', value }]) })],
        /match value/,
      );
  });

  it('refuses addresses HAProxy cannot take and names a hostile service only by its sanitised key', () => {
    for (const host of ['127.0.0.1\nserver x', '127.0.0.1 check', 'a;b'])
      assert.throws(() => serverAddress({ id: 'u', host, port: 80 }), /address HAProxy cannot use/);
    assert.throws(() => serverAddress({ id: 'u', host: '127.0.0.1', port: 70_000 }), /address HAProxy cannot use/);
    assert.equal(serverAddress({ id: 'u', host: '::1', port: 80 }), '[::1]:80');
    const hostile = 'web\nbackend evil; #';
    const key = serviceKey(hostile);
    assert.match(key, /^[a-z0-9_]+$/);
    assert.notEqual(serviceKey('web-1'), serviceKey('web_1'), 'names that sanitise alike stay apart');
    const rendered = renderHaproxyConfig(
      input([service(hostile, { hosts: ['evil.test'], route: routeValue(null, null, 0) })]),
    );
    assert.ok(!rendered.config.includes('backend evil;'));
    assert.ok(
      rendered.config
        .split('\n')
        .every((line) => !line.includes('#') || line.startsWith('#') || line.trimStart().startsWith('#')),
    );
  });

  it('refuses a routes.map value or server it did not make', () => {
    assert.throws(() => renderHaproxyConfig(input([service('web', { route: 'a:b:1\nweb evil' })])), /route value/);
    assert.throws(
      () =>
        renderHaproxyConfig(
          input([service('web', { servers: [[{ name: 'x y', address: '127.0.0.1:1', enabled: true }], [], [], []] })]),
        ),
      /server/,
    );
  });
});
