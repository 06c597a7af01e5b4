import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isCutoverError } from '../../../src/core/errors.js';
import type { CanaryRoute, ServiceRoute, Upstream } from '../../../src/router/index.js';
import { sanitizeName, upstreamName } from '../../../src/router/nginx/nginx-names.js';
import { renderNginxConfig, type NginxRenderInput } from '../../../src/router/nginx/render-nginx-config.js';
import { filesForRoutes, writeNginxFiles as writeEdgeFiles } from '../../../src/router/nginx/nginx-edge-files.js';
import { TestCertificateAuthority } from '../../support/test-certificates.js';
import { writeNginxFiles, type NginxFiles } from '../../support/nginx-server.js';

/**
 * The renderer is pure, so most of this file reads its text; the rest hands
 * the text to a real `nginx -t` inside a team-like main config, because text
 * that merely looks right is worth nothing if nginx refuses it.
 */
const up = (id: string, port: number, host = '127.0.0.1'): Upstream => ({ id, host, port });

function service(
  name: string,
  releaseId: string,
  upstreams: Upstream[],
  extra: Partial<ServiceRoute> = {},
): ServiceRoute {
  return {
    service: name,
    hosts: [`${name}.test`],
    default: false,
    target: { releaseId, version: releaseId, slot: 'blue', upstreams },
    ...extra,
  };
}

function canary(releaseId: string, upstreams: Upstream[], extra: Partial<CanaryRoute> = {}): CanaryRoute {
  return {
    target: { releaseId, version: releaseId, slot: 'green', upstreams },
    weight: 25,
    stickiness: { by: 'cookie', name: 'cutover_canary' },
    match: [],
    ...extra,
  };
}

function input(routes: ServiceRoute[], unhealthy: string[] = []): NginxRenderInput {
  return {
    routes,
    unhealthy: new Set(unhealthy),
    listen: { host: '127.0.0.1', port: 18080 },
    generation: 'abc.7',
    accessLogPath: '/tmp/cutover-access.log',
    keepalive: 16,
  };
}

/** The lines of one top-level block starting with `head`. */
function block(text: string, head: string): string {
  const start = text.indexOf(`${head} {`);
  assert.ok(start >= 0, `no block '${head}' in:\n${text}`);
  const end = text.indexOf('\n}', start);
  return text.slice(start, end + 2);
}

describe('renderNginxConfig (text)', () => {
  it('is deterministic and independent of route order', () => {
    const a = service('web', 'r1', [up('w1', 3001)]);
    const b = service('api', 'r7', [up('a1', 3002)]);
    assert.equal(renderNginxConfig(input([a, b])), renderNginxConfig(input([b, a])));
  });

  it('sanitizes service names and release ids into [a-z0-9_], keeping different names apart', () => {
    assert.equal(sanitizeName('web'), 'web');
    assert.match(sanitizeName('Web-1'), /^web_1_[0-9a-f]{8}$/);
    assert.notEqual(sanitizeName('web-1'), sanitizeName('web_1'));
    assert.notEqual(sanitizeName('web-1'), sanitizeName('web.1'));
    const text = renderNginxConfig(input([service('Shop-EU', 'shop-eu-3;drop', [up('s1', 3001)])]));
    const name = upstreamName('Shop-EU', 'shop-eu-3;drop');
    assert.match(name, /^[a-z0-9_]+$/);
    assert.ok(text.includes(`upstream ${name} {`));
    assert.ok(!text.includes(';drop'), 'a release id must not reach the config as written');
  });

  it('lists unhealthy instances as down, but keeps all of them as they are when none is healthy', () => {
    const route = service('web', 'r1', [up('w1', 3001), up('w2', 3002)]);
    const one = block(renderNginxConfig(input([route], ['w2'])), `upstream ${upstreamName('web', 'r1')}`);
    assert.match(one, /server 127\.0\.0\.1:3001 [^;\n]*fail_timeout=30s;/);
    assert.match(one, /server 127\.0\.0\.1:3002 [^;\n]* down;/);
    const all = block(renderNginxConfig(input([route], ['w1', 'w2'])), `upstream ${upstreamName('web', 'r1')}`);
    assert.doesNotMatch(all, /down/);
    assert.match(all, /keepalive 16;/);
  });

  it('renders the service’s timeouts, instance limits and passive health, and the client timeouts in every block', () => {
    const route = service('web', 'r1', [up('w1', 3001)]);
    const other = service('api', 'r2', [up('a1', 3002)]);
    const traffic = {
      clientHeadersTimeoutMs: 2_500,
      clientKeepAliveTimeoutMs: 30_000,
      maxConnections: 50,
      services: {
        web: {
          connectTimeoutMs: 1_500,
          responseHeadersTimeoutMs: 4_000,
          // 0 (never): nginx needs a number; the larger of the two is one silence.
          idleTimeoutMs: 0,
          connectionsPerInstance: 7,
          pendingPerInstance: 0,
          passiveHealth: { consecutiveFailures: 0, ejectionMs: 1_200, maxEjectionMs: 60_000 },
        },
      },
    };
    const text = renderNginxConfig({ ...input([route, other]), traffic });
    const web = block(text, `upstream ${upstreamName('web', 'r1')}`);
    assert.match(web, /server 127\.0\.0\.1:3001 max_conns=7 max_fails=0 fail_timeout=2s;/);
    // A service the settings do not name gets cutover's defaults, not nginx's.
    assert.match(
      block(text, `upstream ${upstreamName('api', 'r2')}`),
      /server 127\.0\.0\.1:3002 max_conns=128 max_fails=5 fail_timeout=30s;/,
    );
    assert.match(text, /proxy_connect_timeout 1500ms;\n {4}proxy_read_timeout 86400000ms;/);
    assert.match(text, /proxy_connect_timeout 5000ms;\n {4}proxy_read_timeout 60000ms;/);
    const blocks = text.split('\nserver {').length - 1;
    assert.ok(blocks >= 3);
    assert.equal(text.split('client_header_timeout 2500ms;').length - 1, blocks);
    assert.equal(text.split('keepalive_timeout 30000ms;').length - 1, blocks);
  });

  it('answers 503 for a service with no release, and marks the default service default_server', () => {
    const text = renderNginxConfig(input([{ service: 'web', hosts: ['web.test'], default: true, target: null }]));
    // Its named block, and a catch-all block for every other Host (plain only: no redirect from a name it was not given).
    assert.match(text, /listen 127\.0\.0\.1:18080;\n {2}server_name web\.test;/);
    assert.match(text, /listen 127\.0\.0\.1:18080 default_server;\n(?: {2}\w+ \w+;\n)* {2}set \$cutover_release "";/);
    assert.match(text, /return 503 .*NO_UPSTREAM/);
    assert.doesNotMatch(text, /proxy_pass/);
    // The control server is default only when no service is.
    assert.doesNotMatch(block(text, 'server'), /default_server/);
  });

  it('writes hosts as the proxy matches them: lower case, without a port', () => {
    const text = renderNginxConfig(
      input([{ ...service('web', 'r1', [up('w1', 3001)]), hosts: ['Web.Test:8080', 'web.test', '*.web.test'] }]),
    );
    assert.match(text, /server_name web\.test \*\.web\.test;/);
  });

  it('never sends traffic to the canary at weight 0 without a match rule, and always at 100', () => {
    const stable = upstreamName('web', 'r1');
    const green = upstreamName('web', 'r2');
    const zero = renderNginxConfig(
      input([service('web', 'r1', [up('w1', 3001)], { canary: canary('r2', [up('c1', 3002)], { weight: 0 }) })]),
    );
    assert.doesNotMatch(zero, /split_clients/);
    assert.match(zero, new RegExp(`set \\$cutover_release ${stable};`));
    const full = renderNginxConfig(
      input([service('web', 'r1', [up('w1', 3001)], { canary: canary('r2', [up('c1', 3002)], { weight: 100 }) })]),
    );
    assert.doesNotMatch(full, /split_clients/);
    assert.match(full, new RegExp(`set \\$cutover_release ${green};`));
  });

  it('puts the first weight percent of the hash range on the canary, so raising the weight only adds clients', () => {
    const at = (weight: number): string =>
      block(
        renderNginxConfig(
          input([service('web', 'r1', [up('w1', 3001)], { canary: canary('r2', [up('c1', 3002)], { weight }) })]),
        ),
        'split_clients "$cutover_v_web_key" $cutover_v_web_split',
      );
    assert.match(at(25), new RegExp(`^  25% ${upstreamName('web', 'r2')};\\n  \\* ${upstreamName('web', 'r1')};`, 'm'));
    assert.match(at(50), new RegExp(`^  50% ${upstreamName('web', 'r2')};`, 'm'));
    assert.match(at(2.5), /^ {2}2\.5% /m);
  });

  it('sends the canary share to the stable release while no canary instance is healthy', () => {
    const text = renderNginxConfig(
      input(
        [service('web', 'r1', [up('w1', 3001)], { canary: canary('r2', [up('c1', 3002)], { weight: 50 }) })],
        ['c1'],
      ),
    );
    assert.doesNotMatch(text, /split_clients/);
    assert.match(text, new RegExp(`set \\$cutover_release ${upstreamName('web', 'r1')};`));
  });

  it('escapes match values into the regex, byte by byte', () => {
    const text = renderNginxConfig(
      input([
        service('web', 'r1', [up('w1', 3001)], {
          canary: canary('r2', [up('c1', 3002)], { match: [{ header: 'X-Canary', value: 'a"b;$c' }] }),
        }),
      ]),
    );
    assert.match(text, /map \$http_x_canary \$cutover_v_web_match0 \{\n {2}"~\^a\\x22b\\x3b\\x24c\$" 1;/);
  });

  it('refuses what the proxy refuses and what nginx cannot route on', () => {
    const isInvalid = (error: unknown): boolean => isCutoverError(error) && error.code === 'CONFIG_INVALID';
    const a = service('web', 'r1', [up('w1', 3001)]);
    assert.throws(
      () => renderNginxConfig(input([a, { ...service('api', 'r2', [up('a1', 3002)]), hosts: ['web.test'] }])),
      isInvalid,
    );
    assert.throws(() => renderNginxConfig(input([{ ...a, hosts: ['web.test; include /etc/passwd'] }])), isInvalid);
    assert.throws(
      () =>
        renderNginxConfig(
          input([
            service('web', 'r1', [up('w1', 3001)], {
              canary: canary('r2', [up('c1', 3002)], { stickiness: { by: 'header', name: 'X User' } }),
            }),
          ]),
        ),
      isInvalid,
    );
    assert.throws(() => renderNginxConfig(input([service('web', 'r1', [up('w1', 3001, 'evil host')])])), isInvalid);
  });
});

/** A certificate-shaped route part: the renderer only hashes the PEM text. */
const fakeTls = (hosts: string[], hsts?: string) => ({
  certificates: [{ hosts, certPem: `cert of ${hosts.join(',')}`, keyPem: `key of ${hosts.join(',')}` }],
  ...(hsts === undefined ? {} : { hsts }),
});

function edgeInput(routes: ServiceRoute[], extra: Partial<NginxRenderInput> = {}): NginxRenderInput {
  return {
    ...input(routes),
    https: { host: '127.0.0.1', port: 18443 },
    redirectHttp: true,
    filesDir: '/etc/nginx/conf.d/cutover.d',
    ...extra,
  };
}

describe('renderNginxConfig (edge)', () => {
  const isInvalid = (error: unknown): boolean => isCutoverError(error) && error.code === 'CONFIG_INVALID';

  it('serves a certificate only on its names, refuses the handshake elsewhere, and redirects only named hosts', () => {
    const text = renderNginxConfig(
      edgeInput([
        { ...service('web', 'r1', [up('w1', 3001)], { tls: fakeTls(['web.test'], 'max-age=60') }), default: true },
        service('api', 'r1', [up('a1', 3002)]),
      ]),
    );
    // The control server is the TLS default and refuses: no certificate for a name nobody was given.
    assert.match(text, /listen 127\.0\.0\.1:18443 ssl http2 default_server;\n {2}ssl_reject_handshake on;/);
    assert.match(text, /server_name web\.test;/);
    assert.match(text, /ssl_certificate "\/etc\/nginx\/conf\.d\/cutover\.d\/tls\/[0-9a-f]{32}\.crt";/);
    assert.match(text, /return 308 https:\/\/\$host:18443\$request_uri;/);
    // The default service's catch-all: plain only, no redirect to a Host it was not given.
    const catchAllAt = text.search(/default_server;\n(?: {2}\w+ \w+;\n)* {2}set \$cutover_release/);
    assert.ok(catchAllAt >= 0, text);
    const catchAll = text.slice(catchAllAt, text.indexOf('\n}', catchAllAt));
    assert.match(catchAll, /proxy_pass/);
    assert.doesNotMatch(catchAll, /return 308/);
    assert.match(text, /"~\^\/\\\.well-known\/acme-challenge\/" 1;/);
    // api is served in the clear: its HTTPS requests get 421, and it never carries HSTS.
    assert.match(text, /if \(\$scheme = https\) \{ return 421; \}/);
    assert.match(
      text,
      /map "\$scheme:\$upstream_http_strict_transport_security" \$cutover_v_web_hsts \{ "https:" "max-age=60"; default ""; \}/,
    );
    assert.doesNotMatch(text, /cutover_v_api_hsts/);
  });

  it('renders path routes as whole-segment prefix locations, with strip as a rewrite', () => {
    const text = renderNginxConfig(
      edgeInput([
        service('web', 'r1', [up('w1', 3001)], { hosts: ['shop.test'] }),
        service('api', 'r1', [up('a1', 3002)], {
          hosts: [],
          paths: [{ host: 'Shop.Test', prefix: '/api', strip: true }],
        }),
      ]),
    );
    assert.match(text, /server_name shop\.test;/);
    assert.match(text, /location = "\/api" \{/);
    assert.match(text, /location "\/api\/" \{/);
    assert.match(text, /rewrite "\^\\x2fapi\(\?:\/\(\.\*\)\)\?\$" \/\$1 break;/);
    // shop.test has one block (the path host's), not a second one for web's own hosts.
    assert.equal(text.split('server_name shop.test;').length, 2);
    assert.throws(
      () =>
        renderNginxConfig(
          edgeInput([
            service('api', 'r1', [up('a1', 3002)], { paths: [{ host: 's.test', prefix: '/a$b', strip: false }] }),
          ]),
        ),
      isInvalid,
    );
  });

  it('renders maintenance as a geo allow list and pages served from files, never the message itself', () => {
    const text = renderNginxConfig(
      edgeInput([
        service('web', 'r1', [up('w1', 3001)], {
          maintenance: { message: 'pwned"; return 200 $host', retryAfterSec: 90, allow: ['10.0.0.0/8', 'fd00::/8'] },
          maxBodyBytes: 2048,
        }),
      ]),
    );
    assert.match(text, /geo \$cutover_v_web_closed \{\n {2}default 1;\n {2}10\.0\.0\.0\/8 0;\n {2}fd00::\/8 0;\n\}/);
    assert.match(text, /error_page 503 \/\.cutover\/maintenance\/cutover_v_web\.\$cutover_page_type;/);
    assert.match(text, /add_header Retry-After 90 always;/);
    assert.match(text, /alias "\/etc\/nginx\/conf\.d\/cutover\.d\/maintenance\/[0-9a-f]{32}\.html";/);
    assert.doesNotMatch(text, /pwned/);
    assert.match(text, /client_max_body_size 2048;\n {4}error_page 413 @cutover_too_large;/);
  });

  it('refuses a certificate without a TLS listener, hostile ACME values and a files path holding $', () => {
    const tlsRoute = service('web', 'r1', [up('w1', 3001)], { tls: fakeTls(['web.test']) });
    assert.throws(() => renderNginxConfig(input([tlsRoute])), isInvalid);
    assert.throws(
      () => renderNginxConfig(edgeInput([tlsRoute], { acmeHttp01: { tok: 'x; return 200 y' } })),
      isInvalid,
    );
    assert.throws(() => renderNginxConfig(edgeInput([tlsRoute], { filesDir: '/etc/nginx/$x' })), isInvalid);
    assert.throws(
      () =>
        renderNginxConfig(
          edgeInput([
            service('web', 'r1', [up('w1', 3001)], {
              maintenance: { message: '', retryAfterSec: 1, allow: ['fe80::1%eth0'] },
            }),
          ]),
        ),
      isInvalid,
    );
  });
});

describe('renderNginxConfig (nginx -t)', () => {
  let files: NginxFiles;
  before(() => {
    files = writeNginxFiles();
  });
  after(() => fs.rmSync(files.dir, { recursive: true, force: true }));

  function nginxAccepts(text: string): void {
    fs.writeFileSync(files.includeFile, text);
    const result = spawnSync('nginx', ['-t', '-q', '-c', files.mainConfig], { encoding: 'utf8' });
    assert.equal(result.status, 0, `nginx -t refused:\n${result.stderr}\n---\n${text}`);
  }

  it('accepts a variety of routes in one file', () => {
    const accessLogPath = path.join(files.dir, 'access.log');
    const routes: ServiceRoute[] = [
      { ...service('web', 'web-1', [up('w1', 3001), up('w2', 3002)]), default: true },
      service('Shop-EU', 'shop.3', [up('s1', 3003)], {
        hosts: ['shop.test', '*.shop.test'],
        canary: canary('shop.4', [up('s2', 3004)], {
          weight: 5,
          match: [
            { header: 'X-Canary', value: 'always' },
            { cookie: 'beta', value: 'yes' },
          ],
        }),
      }),
      service('api', 'a1', [up('a1', 3005)], {
        canary: canary('a2', [up('a2', 3006)], { weight: 50, stickiness: { by: 'header', name: 'X-User-Id' } }),
      }),
      service('ip', 'i1', [up('i1', 3007)], {
        canary: canary('i2', [up('i2', 3008)], { weight: 33.33, stickiness: { by: 'ip', name: '' } }),
      }),
      service('zero', 'z1', [up('z1', 3009)], {
        canary: canary('z2', [up('z2', 3010)], { weight: 0, match: [{ cookie: 'tester', value: '1' }] }),
      }),
      service('full', 'f1', [up('f1', 3011)], { canary: canary('f2', [up('f2', 3012)], { weight: 100 }) }),
      service('gone', 'g1', [up('g1', 3013)], { canary: canary('g2', [], { weight: 20 }) }),
      { service: 'new', hosts: ['new.test'], default: false, target: null },
      {
        service: 'empty',
        hosts: ['empty.test'],
        default: false,
        target: { releaseId: 'e1', version: 'e1', slot: 'blue', upstreams: [] },
      },
      service('v6', 'x1', [up('x1', 3014, '::1')]),
    ];
    nginxAccepts(renderNginxConfig({ ...input(routes, ['w2']), accessLogPath }));
  });

  it('accepts the edge: certificates, path routes with every prefix character, maintenance, ACME answers', () => {
    const ca = TestCertificateAuthority.create(path.join(files.dir, 'ca'));
    const web = ca.issue(['web.test', 'www.web.test']);
    const shop = ca.issue(['shop.test']);
    const filesDir = path.join(files.dir, 'cutover.d');
    const routes: ServiceRoute[] = [
      {
        ...service('web', 'w1', [up('w1', 3001)], {
          hosts: ['web.test', 'www.web.test', 'plain.web.test'],
          tls: {
            certificates: [{ hosts: ['web.test', 'www.web.test'], certPem: web.certPem, keyPem: web.keyPem }],
            hsts: 'max-age=31536000; includeSubDomains',
          },
          maintenance: { message: 'soon', retryAfterSec: 300, allow: ['127.0.0.1/32', '::1/128'], page: '<p>ours</p>' },
          maxBodyBytes: 10 * 1024 * 1024,
        }),
        default: true,
      },
      service('shop', 's1', [up('s1', 3002)], {
        hosts: ['shop.test'],
        tls: { certificates: [{ hosts: ['shop.test'], certPem: shop.certPem, keyPem: shop.keyPem }] },
      }),
      service('api', 'a1', [up('a1', 3003)], {
        hosts: [],
        paths: [
          { host: 'shop.test', prefix: '/api', strip: true },
          { host: 'other.test', prefix: "/x_y.z~!&'()*+,=:@-/v1", strip: true },
        ],
      }),
      {
        service: 'docs',
        hosts: [],
        default: false,
        target: null,
        paths: [{ host: 'shop.test', prefix: '/', strip: true }],
      },
    ];
    writeEdgeFiles(filesDir, filesForRoutes(filesDir, routes));
    nginxAccepts(
      renderNginxConfig({
        ...input(routes),
        accessLogPath: path.join(files.dir, 'access.log'),
        https: { host: '127.0.0.1', port: 18443 },
        redirectHttp: true,
        filesDir,
        acmeHttp01: { 'tok-A_1': 'tok-A_1.thumb-_9' },
      }),
    );
  });

  it('accepts the empty config cutover starts with', () => {
    nginxAccepts(renderNginxConfig({ ...input([]), accessLogPath: path.join(files.dir, 'access.log') }));
  });
});
