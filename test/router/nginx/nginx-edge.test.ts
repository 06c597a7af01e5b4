import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { isCutoverError } from '../../../src/core/errors.js';
import type { ServiceRoute } from '../../../src/router/index.js';
import { filesDirOf } from '../../../src/router/nginx/nginx-edge-files.js';
import { NginxRouter } from '../../../src/router/nginx/nginx-router.js';
import { startNginxServer, type RunningNginxServer } from '../../support/nginx-server.js';
import { TestCertificateAuthority } from '../../support/test-certificates.js';
import { freePort, route, startSampleApp, type SampleApp } from '../proxy-fixtures.js';

/**
 * What only the nginx router has to get right at the edge (the shared
 * cases are in router-edge-contract.ts): the files it writes for nginx
 * (keys owner-only, names that never come from a host, pruned once unused),
 * ACME HTTP-01 answers rendered for any host, TLS-ALPN-01 refused, and
 * hostile values that must neither break the config nor reach it.
 */
let nginx: RunningNginxServer;
let router: NginxRouter;
let app: SampleApp;
let ca: TestCertificateAuthority;
let caDir: string;
let plainPort: number;

async function get(host: string, target: string, headers: Record<string, string> = {}) {
  const response = await request(`http://127.0.0.1:${plainPort}${target}`, {
    headers: { host, ...headers },
    reset: true,
  });
  return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
}

function filesUnder(dir: string): string[] {
  try {
    return fs.readdirSync(dir).sort();
  } catch {
    return [];
  }
}

before(async () => {
  caDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-nginx-edge-ca-'));
  ca = TestCertificateAuthority.create(caDir);
  app = await startSampleApp('v1');
  nginx = await startNginxServer();
  plainPort = await freePort();
  router = await NginxRouter.attach({
    mainConfig: nginx.mainConfig,
    includeFile: nginx.includeFile,
    listen: { host: '127.0.0.1', port: plainPort },
    https: { host: '127.0.0.1', port: await freePort() },
    redirectHttp: true,
    stateDir: path.join(nginx.dir, 'state'),
  });
});

after(async () => {
  await router?.close();
  await nginx?.stop();
  await app?.stop();
  fs.rmSync(caDir, { recursive: true, force: true });
});

describe('the nginx router at the edge', () => {
  it('writes keys owner-only under names that are content hashes, and prunes them once unused', async () => {
    const host = 'files.test';
    const cert = ca.issue([host]);
    const withTls: ServiceRoute = {
      ...route('files', [host], 'r1', [app.upstream('f0')]),
      tls: { certificates: [{ hosts: [host], certPem: cert.certPem, keyPem: cert.keyPem }] },
      maintenance: { message: 'soon', retryAfterSec: 30, allow: [] },
    };
    await router.setRoute(withTls);
    const dir = filesDirOf(nginx.includeFile);
    const tlsFiles = filesUnder(path.join(dir, 'tls'));
    assert.equal(tlsFiles.length, 2);
    for (const name of tlsFiles) {
      assert.match(name, /^[0-9a-f]{32}\.(crt|key)$/, 'no host or service name becomes a path');
      assert.equal(fs.statSync(path.join(dir, 'tls', name)).mode & 0o777, 0o600);
    }
    assert.equal(fs.statSync(path.join(dir, 'tls')).mode & 0o777, 0o700);
    const pages = filesUnder(path.join(dir, 'maintenance'));
    assert.equal(pages.length, 2);
    for (const name of pages) assert.equal(fs.statSync(path.join(dir, 'maintenance', name)).mode & 0o777, 0o644);

    await router.setRoute(route('files', [host], 'r1', [app.upstream('f0')]));
    assert.deepEqual(filesUnder(path.join(dir, 'tls')), []);
    assert.deepEqual(filesUnder(path.join(dir, 'maintenance')), []);
  });

  it('answers HTTP-01 challenges for any host, before a redirect, and stops when they are taken down', async () => {
    const cert = ca.issue(['acme.test']);
    await router.setRoute({
      ...route('acme', ['acme.test'], 'r1', [app.upstream('a0')]),
      tls: { certificates: [{ hosts: ['acme.test'], certPem: cert.certPem, keyPem: cert.keyPem }] },
    });
    await router.setAcmeChallenges({ http01: { 'tok-1_A': 'tok-1_A.thumb_print-9' }, tlsAlpn01: {} });
    for (const host of ['acme.test', 'not-routed.test']) {
      const answer = await get(host, '/.well-known/acme-challenge/tok-1_A');
      assert.deepEqual([answer.status, answer.text], [200, 'tok-1_A.thumb_print-9'], host);
    }
    await router.setAcmeChallenges({ http01: {}, tlsAlpn01: {} });
    assert.equal((await get('not-routed.test', '/.well-known/acme-challenge/tok-1_A')).status, 404);
  });

  it('refuses TLS-ALPN-01 and challenge values outside the ACME alphabet, changing nothing', async () => {
    await assert.rejects(
      router.setAcmeChallenges({ http01: {}, tlsAlpn01: { 'acme.test': { certPem: 'x', keyPem: 'y' } } }),
      (error: unknown) =>
        isCutoverError(error) && error.code === 'ROUTER_UNSUPPORTED' && /TLS-ALPN-01/.test(error.message),
    );
    await assert.rejects(
      router.setAcmeChallenges({ http01: { 'a;return 200 x': 'k.t' }, tlsAlpn01: {} }),
      (error: unknown) => isCutoverError(error) && error.code === 'CONFIG_INVALID',
    );
    assert.doesNotMatch(fs.readFileSync(nginx.includeFile, 'utf8'), /return 200 x/);
  });

  it('serves a hostile maintenance message as text from a file, never as config', async () => {
    const message = 'Back soon"; } return 200 "pwned $host; \\ é';
    await router.setRoute({
      ...route('hostile', ['hostile.test'], 'r1', [app.upstream('h0')]),
      maintenance: { message, retryAfterSec: 5, allow: [] },
    });
    const answer = await get('hostile.test', '/');
    assert.equal(answer.status, 503);
    assert.equal((JSON.parse(answer.text) as { error: { message: string } }).error.message, message);
    assert.doesNotMatch(fs.readFileSync(nginx.includeFile, 'utf8'), /pwned/);
    // The internal page locations are not reachable from outside.
    assert.equal((await get('hostile.test', '/.cutover/maintenance/cutover_v_hostile.json')).status, 404);
  });

  it('rejects a certificate that does not load, or a prefix nginx would match differently, and the old route serves', async () => {
    await router.setRoute(route('strict', ['strict.test'], 'r1', [app.upstream('s0')]));
    const cert = ca.issue(['strict.test']);
    const other = ca.issue(['strict.test']);
    await assert.rejects(
      router.setRoute({
        ...route('strict', ['strict.test'], 'r2', [app.upstream('s0')]),
        tls: { certificates: [{ hosts: ['strict.test'], certPem: cert.certPem, keyPem: other.keyPem }] },
      }),
      (error: unknown) =>
        isCutoverError(error) && error.code === 'CONFIG_INVALID' && /service 'strict'/.test(error.message),
    );
    await assert.rejects(
      router.setRoute({
        ...route('pct', [], 'r1', [app.upstream('p0')]),
        paths: [{ host: 'strict.test', prefix: '/a%2Fb', strip: false }],
      }),
      (error: unknown) => isCutoverError(error) && error.code === 'CONFIG_INVALID' && /%-escapes/.test(error.hint),
    );
    assert.equal((await get('strict.test', '/')).status, 200);
  });

  it("merges slashes before matching a path route even when the team's nginx.conf turns that off", async () => {
    const api = await startSampleApp('api');
    const teamConfig = fs.readFileSync(nginx.teamFile, 'utf8');
    fs.appendFileSync(nginx.teamFile, 'merge_slashes off;\n');
    try {
      await router.setRoute(route('slashes', ['slashes.test'], 'r1', [app.upstream('w0')]));
      await router.setRoute({
        ...route('slashes-api', [], 'r1', [api.upstream('a0')]),
        paths: [{ host: 'slashes.test', prefix: '/api', strip: false }],
      });
      // The proxy and nginx's default match `//api/x` as `/api/x` (router-edge-contract.ts, pathForms).
      assert.equal((await get('slashes.test', '//api/x')).headers['x-version'], 'api');
    } finally {
      fs.writeFileSync(nginx.teamFile, teamConfig);
      await api.stop();
    }
  });
});
