import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { NginxRouter } from '../../../src/router/nginx/nginx-router.js';
import { startNginxServer, type RunningNginxServer } from '../../support/nginx-server.js';
import { freePort, route, sleep, startSampleApp, type SampleApp } from '../proxy-fixtures.js';

/**
 * cutover's access log lives in its state directory, and that path is
 * written into the nginx config: a state_dir with a space (a macOS
 * "Application Support", a "my app" checkout) or a `;` must come out as one
 * quoted path, not as extra parameters or a directive of its own.
 */
describe('nginx router: a state directory whose path nginx would split', () => {
  let nginx: RunningNginxServer;
  let router: NginxRouter;
  let app: SampleApp;
  let url: string;

  before(async () => {
    nginx = await startNginxServer();
    app = await startSampleApp('v1');
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    router = await NginxRouter.attach({
      mainConfig: nginx.mainConfig,
      includeFile: nginx.includeFile,
      listen: { host: '127.0.0.1', port },
      stateDir: path.join(nginx.dir, 'my app; state'),
    });
  });

  after(async () => {
    await router?.close();
    await nginx?.stop();
    await app?.stop();
  });

  it('routes, and counts from the access log there', async () => {
    await router.setRoute(route('web', ['web.test'], 'r1', [app.upstream('web/r1/0')], { version: 'v1' }));
    for (let i = 0; i < 5; i++) {
      const answer = await request(`${url}/`, { headers: { host: 'web.test' } });
      assert.equal(answer.statusCode, 200);
      await answer.body.dump();
    }
    // nginx logs a request as its answer is sent: wait for the lines to land (not a timing assertion).
    const counted = (): number => router.counters().find((c) => c.releaseId === 'r1')?.requests ?? 0;
    for (let i = 0; i < 100 && counted() < 5; i++) await sleep(20);
    assert.equal(counted(), 5);
  });
});
