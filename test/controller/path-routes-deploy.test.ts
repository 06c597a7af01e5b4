import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { SAMPLE_APP, startHarness, type Harness } from '../support/cutover-harness.js';
import { operate } from '../support/operations.js';

// Path routes through a real cutover server: the config's routes and max_body reach the proxy with every
// route the controller sends, so a blue-green deploy of the service behind the prefix keeps them.
describe("a service behind a path prefix of another service's host", () => {
  let harness: Harness;
  const get = async (path: string, init: { method?: 'POST'; body?: string } = {}) => {
    const response = await request(`${harness.proxyUrl}${path}`, { headers: { host: 'web.localhost' }, ...init });
    const text = await response.body.text();
    return { status: response.statusCode, version: response.headers['x-version'], text };
  };

  before(async () => {
    harness = await startHarness({
      instances: 1,
      strategy: '{ type: blue-green, auto_switch: true, timeout: 20s }',
      extraServiceYaml: `  api:
    routes: [{ host: web.localhost, path_prefix: /api, strip_prefix: true }]
    max_body: 1KiB
    command: node server.js
    cwd: ${SAMPLE_APP}
    env: { APP_VERSION: "api-\${VERSION}" }
    instances: 1
    health: { path: /health, interval: 200ms, timeout: 1s, healthy_threshold: 1 }
    strategy: { type: blue-green, auto_switch: true, timeout: 20s }
    drain_timeout: 1s
`,
    });
    for (const service of ['web', 'api']) {
      const { operation } = await operate(harness.client, `/api/v1/services/${service}/deploy`, { version: 'v1' });
      assert.equal(operation.outcome, 'succeeded', JSON.stringify(operation));
    }
  });
  after(() => harness?.close());

  it('routes /api to its service with the prefix stripped, the rest to the host owner, through a deploy', async () => {
    assert.equal((await get('/')).version, 'v1');
    assert.equal((await get('/api')).version, 'api-v1');
    assert.match((await get('/api/headers')).text, /"headers"/, 'the app got /headers');
    const { operation } = await operate(harness.client, '/api/v1/services/api/deploy', { version: 'v2' });
    assert.equal(operation.outcome, 'succeeded');
    assert.equal((await get('/api/x')).version, 'api-v2');
    assert.equal((await get('/apix')).version, 'v1');
    const refused = await get('/api', { method: 'POST', body: 'x'.repeat(2000) });
    assert.equal(refused.status, 413);
  });
});
