import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { isCutoverError } from '../../../src/core/errors.js';
import { NginxRouter, type NginxRouterOptions } from '../../../src/router/nginx/nginx-router.js';
import { startNginxServer, writeNginxFiles, type RunningNginxServer } from '../../support/nginx-server.js';
import { freePort, route, startSampleApp, type SampleApp } from '../proxy-fixtures.js';

/**
 * What happens when an apply cannot go through: the team's config is broken,
 * a reload does not take effect in time, nginx is not running. Each time the
 * promise rejects with a stable code and the previous route keeps serving.
 */
describe('nginx router: failed applies', () => {
  let nginx: RunningNginxServer;
  let apps: SampleApp[] = [];
  let v1: SampleApp;
  let v2: SampleApp;
  let options: NginxRouterOptions;
  let url: string;

  before(async () => {
    nginx = await startNginxServer();
    apps = await Promise.all([startSampleApp('v1'), startSampleApp('v2')]);
    [v1, v2] = apps as [SampleApp, SampleApp];
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    options = {
      mainConfig: nginx.mainConfig,
      includeFile: nginx.includeFile,
      listen: { host: '127.0.0.1', port },
      stateDir: path.join(nginx.dir, 'state'),
    };
  });

  after(async () => {
    await nginx?.stop();
    await Promise.all(apps.map((app) => app.stop()));
  });

  async function servedVersion(): Promise<string> {
    const response = await request(url, { headers: { host: 'web.test' } });
    return ((await response.body.json()) as { version: string }).version;
  }

  const v1Route = () => route('web', ['web.test'], 'r1', [v1.upstream('web/r1/0')], { version: 'v1' });
  const v2Route = () => route('web', ['web.test'], 'r2', [v2.upstream('web/r2/0')], { version: 'v2' });

  it('rejects ROUTER_CONFIG_REJECTED when nginx -t refuses the config, and the old config keeps serving', async () => {
    const router = await NginxRouter.attach(options);
    try {
      await router.setRoute(v1Route());
      const good = fs.readFileSync(nginx.includeFile, 'utf8');
      // A colleague's typo in the team's own part of the config.
      const teamConfig = fs.readFileSync(nginx.teamFile, 'utf8');
      fs.appendFileSync(nginx.teamFile, 'proxy_buffering onn;\n');

      await assert.rejects(router.setRoute(v2Route()), (error: unknown) => {
        assert.ok(isCutoverError(error));
        assert.equal(error.code, 'ROUTER_CONFIG_REJECTED');
        // nginx's own words, pointing at the team's file.
        assert.match(error.message, /invalid value "onn".*team\.conf:3/);
        return true;
      });
      assert.equal(
        fs.readFileSync(nginx.includeFile, 'utf8'),
        good,
        'the include file is back to the last good config',
      );
      assert.equal(await servedVersion(), 'v1');

      // Once the typo is fixed the same route goes through.
      fs.writeFileSync(nginx.teamFile, teamConfig);
      await router.setRoute(v2Route());
      assert.equal(await servedVersion(), 'v2');
      await router.setRoute(v1Route());
    } finally {
      await router.close();
    }
  });

  it('rejects ROUTER_APPLY_FAILED when a reload does not answer in time, and restores the last good config', async () => {
    const before = fs.readFileSync(nginx.includeFile, 'utf8');
    assert.equal(await servedVersion(), 'v1');
    // 1 ms cannot cover a reload: the switch to v2 fails verification and rolls back. (Attaching to an
    // nginx that has cutover's file already applies nothing: the previous run's routes serve until set again.)
    const router = await NginxRouter.attach({ ...options, verifyTimeoutMs: 1 });
    try {
      assert.equal(
        fs.readFileSync(nginx.includeFile, 'utf8'),
        before,
        'attaching after a previous run leaves its file alone',
      );
      await assert.rejects(router.setRoute(v2Route()), (error: unknown) => {
        assert.ok(isCutoverError(error));
        assert.equal(error.code, 'ROUTER_APPLY_FAILED');
        assert.match(
          error.message,
          /(did not serve generation .* within 1 ms|did not stop accepting in time).*restored and serves/,
        );
        return true;
      });
    } finally {
      await router.close();
    }
    assert.equal(fs.readFileSync(nginx.includeFile, 'utf8'), before);
    // The failed apply's workers (v2) take their graceful stop after the restore: on a loaded machine one of them may
    // still take a new connection for a moment. The claim is that v1 serves again once they are gone, so ask a few times.
    let served = await servedVersion();
    for (let attempt = 0; served !== 'v1' && attempt < 30; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      served = await servedVersion();
    }
    assert.equal(served, 'v1', 'the routes of the last good config serve again');
  });

  it('refuses a route the renderer cannot write without touching nginx', async () => {
    const router = await NginxRouter.attach(options);
    try {
      const written = fs.readFileSync(nginx.includeFile, 'utf8');
      await assert.rejects(
        router.setRoute({ ...v2Route(), hosts: ['web.test;'] }),
        (error: unknown) => isCutoverError(error) && error.code === 'CONFIG_INVALID',
      );
      assert.equal(fs.readFileSync(nginx.includeFile, 'utf8'), written);
    } finally {
      await router.close();
    }
  });

  it('rejects ROUTER_UNAVAILABLE naming the main config when nginx is not running', async () => {
    const files = writeNginxFiles();
    try {
      await assert.rejects(
        NginxRouter.attach({
          mainConfig: files.mainConfig,
          includeFile: files.includeFile,
          listen: { host: '127.0.0.1', port: await freePort() },
          stateDir: path.join(files.dir, 'state'),
        }),
        (error: unknown) => {
          assert.ok(isCutoverError(error));
          assert.equal(error.code, 'ROUTER_UNAVAILABLE');
          assert.ok(error.message.includes(files.mainConfig), error.message);
          assert.ok(error.message.includes(files.pidFile), error.message);
          return true;
        },
      );
    } finally {
      fs.rmSync(files.dir, { recursive: true, force: true });
    }
  });
});
