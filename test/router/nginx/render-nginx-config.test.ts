import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isCutoverError } from '../../../src/core/errors.js';
import type { CanaryRoute, ServiceRoute, Upstream } from '../../../src/router/index.js';
import { sanitizeName, upstreamName } from '../../../src/router/nginx/nginx-names.js';
import { renderNginxConfig, type NginxRenderInput } from '../../../src/router/nginx/render-nginx-config.js';
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
    assert.match(one, /server 127\.0\.0\.1:3001;/);
    assert.match(one, /server 127\.0\.0\.1:3002 down;/);
    const all = block(renderNginxConfig(input([route], ['w1', 'w2'])), `upstream ${upstreamName('web', 'r1')}`);
    assert.doesNotMatch(all, /down/);
    assert.match(all, /keepalive 16;/);
  });

  it('answers 503 for a service with no release, and marks the default service default_server', () => {
    const text = renderNginxConfig(input([{ service: 'web', hosts: ['web.test'], default: true, target: null }]));
    // Its named block, and a catch-all block for every other Host (plain only: no redirect from a name it was not given).
    assert.match(text, /listen 127\.0\.0\.1:18080;\n {2}server_name web\.test;/);
    assert.match(text, /listen 127\.0\.0\.1:18080 default_server;\n {2}set \$cutover_release "";/);
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

  it('accepts the empty config cutover starts with', () => {
    nginxAccepts(renderNginxConfig({ ...input([]), accessLogPath: path.join(files.dir, 'access.log') }));
  });
});
