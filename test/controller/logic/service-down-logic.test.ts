import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { isCutoverError } from '../../../src/core/errors.js';
import { serviceYaml, startLogic, type LogicHarness } from './logic-harness.js';

/**
 * `cutover down <service>` over fakes: one service is routed to nothing,
 * drained and stopped, while the other serves on; the deploy lock guards it;
 * a deploy or a rollback starts the service again; a controller that died
 * during the stop finishes (or undoes) it at the next start.
 */
const STRATEGY = '{ type: blue-green, auto_switch: true, scale_down_delay: 10m, timeout: 30s }';
// A second service next to `web`, at the `services:` level (serviceYaml's `extra` lands under web's keys).
const API_SERVICE = `  api:
    hosts: [api.localhost]
    runtime: process
    command: app --port \${PORT}
    cwd: /tmp
    instances: 2
    health: { path: /health, interval: 30s, timeout: 1s, healthy_threshold: 1, unhealthy_threshold: 2, start_period: 5s }
    strategy: ${STRATEGY}
`;
const YAML = serviceYaml(STRATEGY, { extra: API_SERVICE });

const deploy = (h: LogicHarness, service: string, version: string) =>
  h.controller.deploy(service, { version, actor: 'test' });
const instancesOf = (h: LogicHarness, service: string) =>
  h.runtime
    .list()
    .filter((i) => i.service === service)
    .map((i) => i.id)
    .sort();

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (isCutoverError(error)) return error.code;
    throw error;
  }
  assert.fail('expected a refusal');
}

describe('cutover down <service> over fakes', () => {
  let h: LogicHarness;
  afterEach(async () => {
    await h?.close();
  });

  async function twoServices(): Promise<void> {
    h = await startLogic(YAML);
    await h.finish(await deploy(h, 'web', 'v1'));
    await h.finish(await deploy(h, 'web', 'v2'));
    await h.finish(await deploy(h, 'api', 'a1'));
    assert.equal(h.versionServed('web'), 'v2');
    assert.equal(h.versionServed('api'), 'a1');
  }

  it('routes the service to nothing, drains it, stops every release of it; the other serves on', async () => {
    await twoServices();
    const v2 = h.controller.activeRelease('web')!;
    const v1 = h.store.listReleases('web').find((r) => r.version === 'v1')!;
    assert.equal(v1.state, 'standby', 'v1 is kept for instant rollback before the down');
    const api = h.controller.activeRelease('api')!;
    const apiInstances = instancesOf(h, 'api');
    const webInstances = instancesOf(h, 'web');
    assert.equal(webInstances.length, 4, 'v2 and the standby v1');

    const held = h.router.begin({ host: 'web.localhost' });
    assert.equal(held.routing.routed && held.routing.version, 'v2');
    const down = await h.controller.down('web', 'ops');
    assert.equal(down.kind, 'down');
    assert.equal(down.fromReleaseId, v2.id);
    await h.until(() => h.store.getOperation(down.id)?.phase === 'draining');
    assert.equal(h.versionServed('web'), 503, 'a new request to web gets the 503 of a service without a release');
    assert.equal(h.versionServed('api'), 'a1');
    await h.clock.advance(2000);
    assert.equal(h.store.getOperation(down.id)?.outcome, null, 'the drain waits for the request in flight');
    assert.deepEqual(instancesOf(h, 'web'), webInstances, 'nothing stops while v2 still answers a request');

    held.end(200);
    const done = await h.finish(down);
    assert.equal(done.outcome, 'succeeded');
    assert.deepEqual(instancesOf(h, 'web'), [], 'v2 and the standby v1 are stopped');
    assert.equal(h.store.getRelease(v2.id)?.state, 'stopped');
    assert.equal(h.store.getRelease(v1.id)?.state, 'stopped');
    assert.equal(h.controller.activeRelease('web'), null);
    assert.equal(h.router.routeOf('web')?.target, null);
    assert.equal(h.versionServed('web'), 503);
    const types = h.events(done).map((e) => e.type);
    assert.deepEqual(
      types.filter((t) => t !== 'release.stopped'),
      ['traffic.stopped', 'release.drained', 'down.succeeded'],
    );
    assert.equal(types.filter((t) => t === 'release.stopped').length, 2);
    assert.deepEqual(
      (h.events(done).find((e) => e.type === 'release.drained')?.data as { drained: boolean }).drained,
      true,
    );

    const status = h.controller.status('web');
    assert.equal(status.active, null);
    assert.equal(status.standby, null);
    assert.equal(status.lock, null, 'the lock is released');
    assert.equal(status.recent[0]?.kind, 'down');
    assert.equal(status.recent[0]?.outcome, 'succeeded');
    assert.equal(h.controller.history('web').operations[0]?.id, down.id);

    assert.equal(h.versionServed('api'), 'a1', 'api serves on');
    assert.equal(h.controller.activeRelease('api')?.id, api.id);
    assert.deepEqual(instancesOf(h, 'api'), apiInstances, 'with the very same instances');
    assert.equal(h.controller.history('api').operations[0]?.kind, 'deploy', 'and nothing was recorded for it');
  });

  it('a rollback returns to the stopped release, and a deploy after another down starts afresh', async () => {
    await twoServices();
    const v2 = h.controller.activeRelease('web')!;
    await h.finish(await h.controller.down('web', 'ops'));
    assert.equal(h.versionServed('web'), 503);

    const rollback = await h.finish(await h.controller.rollback('web', { actor: 'test' }));
    assert.equal(rollback.outcome, 'succeeded');
    assert.equal(rollback.releaseId, v2.id, 'the release the down stopped, the last one that served');
    assert.equal(h.versionServed('web'), 'v2');
    assert.equal(instancesOf(h, 'web').length, 2);

    await h.finish(await h.controller.down('web', 'ops'));
    assert.deepEqual(instancesOf(h, 'web'), []);
    const v3 = await h.finish(await deploy(h, 'web', 'v3'));
    assert.equal(v3.outcome, 'succeeded');
    assert.equal(v3.fromReleaseId, null, 'the deploy started from nothing');
    assert.equal(h.versionServed('web'), 'v3');
    assert.equal(h.versionServed('api'), 'a1');
  });

  it('is refused while a deploy of the service runs, and for an unknown service; nothing changes', async () => {
    await twoServices();
    const v2 = h.controller.activeRelease('web')!;
    const running = await deploy(h, 'web', 'v3');
    const served = () => instancesOf(h, 'web').filter((id) => id.includes(`/${v2.id}/`));
    const before = served();
    assert.equal(before.length, 2);
    const operations = h.store.listOperations('web').length;
    assert.equal(await refusal(h.controller.down('web', 'ops')), 'DEPLOY_LOCKED');
    assert.equal(await refusal(h.controller.down('nope', 'ops')), 'SERVICE_NOT_FOUND');
    assert.equal(h.store.listOperations('web').length, operations, 'no operation was recorded');
    assert.equal(h.store.getLock('web')?.operationId, running.id, 'the deploy keeps its lock');
    assert.deepEqual(served(), before, 'the active release runs on');
    assert.equal(h.store.getRelease(v2.id)?.state, 'active');
    assert.equal(h.versionServed('web'), 'v2');
    assert.equal((await h.finish(running)).outcome, 'succeeded', 'and the deploy goes on');
    assert.equal(h.versionServed('web'), 'v3');
  });

  for (const [name, strategy] of [
    ['canary', '{ type: canary, steps: [{ weight: 50, pause: 1m }, { weight: 100 }], timeout: 30s }'],
    ['rolling', '{ type: rolling, parallelism: 1, order: start-first, monitor: 5s, timeout: 30s }'],
  ] as const) {
    it(`stops a ${name} service, and its next deploy and a rollback start it again`, async () => {
      h = await startLogic(serviceYaml(strategy));
      await h.finish(await deploy(h, 'web', 'v1'));
      await h.finish(await deploy(h, 'web', 'v2'));
      assert.equal((await h.finish(await h.controller.down('web', 'ops'))).outcome, 'succeeded');
      assert.deepEqual(instancesOf(h, 'web'), []);
      assert.equal(h.versionServed('web'), 503);
      assert.equal((await h.finish(await deploy(h, 'web', 'v3'))).outcome, 'succeeded');
      assert.equal(h.versionServed('web'), 'v3');
      assert.equal(instancesOf(h, 'web').length, 2);
      await h.finish(await h.controller.down('web', 'ops'));
      const rollback = await h.finish(await h.controller.rollback('web', { actor: 'test' }));
      assert.equal(rollback.outcome, 'succeeded');
      assert.equal(h.versionServed('web'), 'v3');
    });
  }

  it('a down whose controller died after the route change finishes at the next start', async () => {
    await twoServices();
    const v2 = h.controller.activeRelease('web')!;
    // What service-stop.ts leaves once the route and the store say "no active release", before anything stopped.
    const now = h.clock.now();
    h.store.acquireLock('web', 'op-down-crashed', 'ops', now);
    h.store.createOperation({
      id: 'op-down-crashed',
      service: 'web',
      kind: 'down',
      releaseId: null,
      fromReleaseId: v2.id,
      actor: 'ops',
      phase: 'draining',
      state: null,
      startedAt: now,
    });
    h.store.setActiveRelease('web', null, now);
    h.store.updateRelease(v2.id, { state: 'standby', scaleDownAt: null });

    h = await h.restart();
    await h.until(() => instancesOf(h, 'web').length === 0, 60_000);
    const done = h.store.getOperation('op-down-crashed')!;
    assert.equal(done.outcome, 'succeeded');
    assert.equal(h.store.getLock('web'), null);
    assert.deepEqual(
      h.store
        .listReleases('web')
        .map((r) => r.state)
        .sort(),
      ['stopped', 'stopped'],
      'v2 and the standby v1 stopped at once, scale_down_delay or not',
    );
    assert.equal(h.versionServed('web'), 503);
    assert.equal(h.versionServed('api'), 'a1');
  });

  it('a down whose controller died before the store changed is aborted: traffic goes back to the release', async () => {
    await twoServices();
    const v2 = h.controller.activeRelease('web')!;
    // The route had moved to nothing, the store still names v2: recovery routes every service from the store.
    const now = h.clock.now();
    h.store.acquireLock('web', 'op-down-early', 'ops', now);
    h.store.createOperation({
      id: 'op-down-early',
      service: 'web',
      kind: 'down',
      releaseId: null,
      fromReleaseId: v2.id,
      actor: 'ops',
      phase: 'unrouting',
      state: null,
      startedAt: now,
    });

    h = await h.restart();
    const done = h.store.getOperation('op-down-early')!;
    assert.equal(done.outcome, 'aborted');
    assert.equal(h.versionServed('web'), 'v2');
    assert.equal(h.store.getRelease(v2.id)?.state, 'active');
    assert.equal(instancesOf(h, 'web').length, 4, 'v2 and the standby v1 run on');
  });
});
