import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { request } from 'undici';
import type { EventRecord } from '../../src/store/records.js';
import { startHarness, type Harness } from '../support/cutover-harness.js';
import { operate, sleep } from '../support/operations.js';

/**
 * The composition root wires the proxy's passive health into the event log:
 * an instance the proxy ejects (its requests failing in a row while its
 * health checks stay green) and its return are recorded as
 * `instance.ejected` / `instance.restored` events of its service and release.
 */
let h: Harness;
const events: EventRecord[] = [];

before(async () => {
  h = await startHarness({
    instances: 2,
    strategy: '{ type: blue-green, auto_switch: true, timeout: 10s }',
    extraServiceYaml: '    passive_health: { consecutive_failures: 2, ejection_time: 500ms }\n',
  });
  h.server.controller.events.onRecord((event) => {
    events.push(event);
  });
});

after(async () => {
  await h?.close();
});

it('records instance.ejected and instance.restored for an instance that answers 500 while its health checks pass', async () => {
  // errors100: every request on / answers 500, /health stays 200.
  const deploy = await operate(h.client, '/api/v1/services/web/deploy', { version: 'v1-errors100' });
  assert.equal(deploy.operation.outcome, 'succeeded');
  const releaseId = deploy.operation.releaseId;
  for (let i = 0; i < 6; i++) {
    const response = await request(h.proxyUrl, { headers: { host: 'web.localhost' } });
    await response.body.dump();
    assert.equal(response.statusCode, 500, 'one instance is always left in rotation, so the release keeps answering');
  }
  const ejected = events.filter((e) => e.type === 'instance.ejected');
  assert.equal(ejected.length, 1, 'one of the two instances ejected, never the last one');
  assert.equal(ejected[0]?.service, 'web');
  assert.equal(ejected[0]?.releaseId, releaseId);
  assert.match(
    ejected[0]?.message ?? '',
    /web\/.+ taken out of rotation for 500 ms after 2 failures in a row \(last: status 500\)/,
  );
  const deadline = Date.now() + 10_000;
  while (!events.some((e) => e.type === 'instance.restored') && Date.now() < deadline) await sleep(100);
  const restored = events.find((e) => e.type === 'instance.restored');
  assert.ok(restored, 'its return is recorded');
  assert.equal((restored.data as { instance: string }).instance, (ejected[0]?.data as { instance: string }).instance);
});
