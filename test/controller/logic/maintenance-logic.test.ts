import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { isCutoverError } from '../../../src/core/errors.js';
import { FakeRouter } from '../../../src/router/fake/fake-router.js';
import { serviceYaml, startLogic, type LogicHarness } from './logic-harness.js';

/**
 * `cutover maintenance on|off` over fakes: the route that serves gets the
 * maintenance and loses it again without a deploy, a deploy or a canary step
 * during maintenance keeps it, a controller restart keeps it (it is in the
 * store), and a router that cannot answer it refuses before anything changes.
 */
const BLUE_GREEN = '{ type: blue-green, auto_switch: true, scale_down_delay: 10m, timeout: 30s }';
const CANARY =
  '{ type: canary, steps: [{ weight: 20, pause: 1m }, { weight: 50, pause: 1m }, { weight: 100 }], timeout: 30s }';
const ALLOWED_IP = '10.1.2.3';

const served = (h: LogicHarness, ip?: string) => {
  const routing = h.router.route({ host: 'web.localhost', ...(ip ? { ip } : {}) });
  return routing.routed ? routing.version : routing.code;
};
const on = (h: LogicHarness) =>
  h.controller.maintenance('web', {
    on: true,
    actor: 'alice',
    message: 'Back soon',
    retryAfterSec: 600,
    allow: ['10.0.0.0/8'],
  });
const off = (h: LogicHarness) => h.controller.maintenance('web', { on: false, actor: 'bob' });
const maintenanceEvents = (h: LogicHarness) =>
  [...h.store.eventsOfType('web', 'maintenance.on'), ...h.store.eventsOfType('web', 'maintenance.off')].sort(
    (a, b) => a.seq - b.seq,
  );

describe('maintenance over fakes', () => {
  let h: LogicHarness;
  afterEach(async () => {
    await h?.close();
  });

  it('answers users 503 while on, lets the allowed block through, and serves again when off', async () => {
    h = await startLogic(serviceYaml(BLUE_GREEN));
    await h.finish(await h.controller.deploy('web', { version: 'v1', actor: 'test' }));
    const routesBefore = h.store.listReleases('web').length;

    const started = await on(h);
    assert.equal(started.changed, true);
    assert.equal(served(h), 'MAINTENANCE');
    const refused = h.router.route({ host: 'web.localhost' });
    assert.ok(!refused.routed && refused.status === 503 && refused.retryAfterSec === 600);
    assert.equal(served(h, ALLOWED_IP), 'v1', 'an allowed address reaches the release');
    const status = h.controller.status('web');
    assert.equal(status.maintenance?.actor, 'alice');
    assert.equal(status.maintenance?.message, 'Back soon');

    const ended = await off(h);
    assert.deepEqual(ended, { maintenance: null, changed: true });
    assert.equal(served(h), 'v1');
    assert.equal(h.controller.status('web').maintenance, null);
    assert.equal(h.store.listReleases('web').length, routesBefore, 'no release was made: no deploy');
    assert.deepEqual(
      maintenanceEvents(h).map((e) => [e.type, e.message.includes(e.type === 'maintenance.on' ? 'alice' : 'bob')]),
      [
        ['maintenance.on', true],
        ['maintenance.off', true],
      ],
    );
    assert.deepEqual(await off(h), { maintenance: null, changed: false }, 'off while off changes nothing');
    assert.equal(maintenanceEvents(h).length, 2);
  });

  it('keeps maintenance through a deploy and across a controller restart', async () => {
    h = await startLogic(serviceYaml(BLUE_GREEN));
    await h.finish(await h.controller.deploy('web', { version: 'v1', actor: 'test' }));
    await on(h);
    await h.finish(await h.controller.deploy('web', { version: 'v2', actor: 'test' }));
    assert.equal(served(h), 'MAINTENANCE', 'the new route carries the maintenance too');
    assert.equal(served(h, ALLOWED_IP), 'v2');

    h = await h.restart();
    assert.equal(served(h), 'MAINTENANCE', 'recovery routes with the stored maintenance');
    assert.equal(served(h, ALLOWED_IP), 'v2');
    await off(h);
    assert.equal(served(h), 'v2');
  });

  it('switches a service in a canary without moving its weight', async () => {
    h = await startLogic(serviceYaml(CANARY));
    await h.finish(await h.controller.deploy('web', { version: 'v1', actor: 'test' }));
    await h.controller.deploy('web', { version: 'v2', actor: 'test' });
    await h.until(() => h.router.routeOf('web')?.canary?.weight === 20);
    await on(h);
    assert.equal(h.router.routeOf('web')?.canary?.weight, 20);
    assert.equal(served(h), 'MAINTENANCE');
    await off(h);
    assert.equal(h.router.routeOf('web')?.canary?.weight, 20);
    assert.equal(h.router.routeOf('web')?.maintenance, null);
  });

  it("stores the team's maintenance_page once, and refuses one over 64 KiB", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-maintenance-page-'));
    try {
      const file = path.join(dir, 'page.html');
      fs.writeFileSync(file, '<p>ours</p>');
      h = await startLogic(serviceYaml(BLUE_GREEN, { extra: `    maintenance_page: ${file}\n` }));
      await h.finish(await h.controller.deploy('web', { version: 'v1', actor: 'test' }));
      await on(h);
      fs.writeFileSync(file, 'changed afterwards');
      assert.equal(h.router.routeOf('web')?.maintenance?.page, '<p>ours</p>');
      h = await h.restart();
      assert.equal(h.router.routeOf('web')?.maintenance?.page, '<p>ours</p>', 'the stored page, not the file again');
      await off(h);
      fs.writeFileSync(file, 'x'.repeat(64 * 1024 + 1));
      await assert.rejects(on(h), (error) => isCutoverError(error) && error.code === 'CONFIG_INVALID');
      assert.equal(h.store.getMaintenance('web'), null);
      assert.equal(served(h), 'v1');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses on a router that cannot answer maintenance, and stores nothing', async () => {
    class NoMaintenanceRouter extends FakeRouter {
      override readonly supportsMaintenance = false;
    }
    h = await startLogic(serviceYaml(BLUE_GREEN), undefined, (clock) => new NoMaintenanceRouter({ clock }));
    await h.finish(await h.controller.deploy('web', { version: 'v1', actor: 'test' }));
    await assert.rejects(
      on(h),
      (error) => isCutoverError(error) && error.code === 'ROUTER_UNSUPPORTED' && /fake router/.test(error.message),
    );
    assert.equal(h.store.getMaintenance('web'), null);
    assert.equal(served(h), 'v1');
    assert.equal(maintenanceEvents(h).length, 0);
  });
});
