import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { issueAt, issuesOf, parse } from './issues-of.js';

// `server.router` and `server.nginx`: which router moves traffic, validated once at load.
describe('the router in cutover.yaml', () => {
  const service = 'services: { web: { command: node server.js } }';

  it('is the embedded proxy unless the file says nginx', () => {
    const config = parse(service);
    assert.equal(config.server.router, 'proxy');
    assert.equal(config.server.nginx, undefined);
  });

  it('reads server.nginx with paths relative to the file and defaults for the rest', () => {
    const config = parse(`server:
  router: nginx
  nginx: { main_config: nginx/nginx.conf, include_file: /etc/nginx/conf.d/cutover.conf }
${service}`);
    assert.equal(config.server.router, 'nginx');
    assert.deepEqual(config.server.nginx, {
      mainConfig: '/srv/site/nginx/nginx.conf',
      includeFile: '/etc/nginx/conf.d/cutover.conf',
      binary: 'nginx',
      verifyTimeoutMs: 5_000,
    });
    const full = parse(`server:
  router: nginx
  nginx: { main_config: /n.conf, include_file: /c.conf, binary: /usr/sbin/nginx, pid_file: run/nginx.pid, verify_timeout: 2s }
${service}`);
    assert.deepEqual(full.server.nginx, {
      mainConfig: '/n.conf',
      includeFile: '/c.conf',
      binary: '/usr/sbin/nginx',
      pidFile: '/srv/site/run/nginx.pid',
      verifyTimeoutMs: 2_000,
    });
  });

  it('refuses an unknown router, nginx without its files, and nginx settings without router: nginx, each at its place', () => {
    assert.match(
      issueAt(issuesOf(`server: { router: traefik }\n${service}`).byPath, 'server.router').message,
      /expected proxy \(the embedded proxy\), nginx or haproxy/,
    );
    assert.match(
      issueAt(issuesOf(`server: { router: nginx }\n${service}`).byPath, 'server.router').message,
      /nginx needs server\.nginx: .*main_config.*include_file/,
    );
    assert.match(
      issueAt(
        issuesOf(`server: { nginx: { main_config: /n.conf, include_file: /c.conf } }\n${service}`).byPath,
        'server.nginx',
      ).message,
      /only used with router: nginx/,
    );
    const missing = issuesOf(
      `server: { router: nginx, nginx: { main_config: /n.conf, verify_timeout: soon } }\n${service}`,
    ).byPath;
    assert.match(issueAt(missing, 'server.nginx.include_file').message, /expected the path of the file cutover writes/);
    assert.match(issueAt(missing, 'server.nginx.verify_timeout').message, /expected/);
  });

  it('reads server.haproxy with defaults, and refuses it without router: haproxy or with a bad value', () => {
    const config = parse(`server: { router: haproxy }\n${service}`);
    assert.equal(config.server.router, 'haproxy');
    assert.deepEqual(config.server.haproxy, { binary: 'haproxy', threads: 1, verifyTimeoutMs: 10_000 });
    const full = parse(
      `server: { router: haproxy, haproxy: { binary: /usr/sbin/haproxy, threads: 2, verify_timeout: 3s } }\n${service}`,
    );
    assert.deepEqual(full.server.haproxy, { binary: '/usr/sbin/haproxy', threads: 2, verifyTimeoutMs: 3_000 });
    assert.equal(parse(service).server.haproxy, undefined);
    assert.match(
      issueAt(issuesOf(`server: { haproxy: { threads: 1 } }\n${service}`).byPath, 'server.haproxy').message,
      /only used with router: haproxy/,
    );
    assert.match(
      issueAt(
        issuesOf(`server: { router: haproxy, haproxy: { threads: 0 } }\n${service}`).byPath,
        'server.haproxy.threads',
      ).message,
      /whole number from 1 to 64/,
    );
  });
});
