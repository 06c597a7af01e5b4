import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { ManualClock } from '../../../src/clock/manual-clock.js';
import { FakeRuntime } from '../../../src/runtime/fake/fake-runtime.js';
import { SqliteStore } from '../../../src/store/sqlite-store.js';
import { serviceYaml, startLogic, type LogicHarness } from './logic-harness.js';

// Issue 20, item 5: a release whose every instance fails its health checks after the start period fails the
// deploy at once (HEALTH_FAILED) with the last answers, for every strategy; the deploy timeout is far away
// (10 min) so reaching it would be the old behaviour. The harness checks every 30 s, unhealthy_threshold 2,
// start_period 5 s: the first check (t = 0) is inside the start period, the next two count.
const CHECKS_BEFORE_FAILING = 3;
const deploy = (h: LogicHarness, version: string) => h.controller.deploy('web', { version, actor: 'test' });

/** Counts the health checks of each instance of `version`. */
function countChecks(h: LogicHarness, version: string): Map<string, number> {
  const counts = new Map<string, number>();
  const probe = h.runtime.probe.bind(h.runtime);
  h.runtime.probe = (instanceId: string) => {
    const info = h.runtime.list().find((i) => i.id === instanceId);
    if (info?.version === version) counts.set(instanceId, (counts.get(instanceId) ?? 0) + 1);
    return probe(instanceId);
  };
  return counts;
}

describe('a release that never becomes healthy fails on its health threshold, not at the timeout', () => {
  let h: LogicHarness;
  afterEach(async () => {
    await h?.close();
  });

  for (const [name, strategy] of [
    ['blue-green', '{ type: blue-green, auto_switch: true, timeout: 10m }'],
    ['canary', '{ type: canary, steps: [{ weight: 20, pause: 1m }, { weight: 100 }], timeout: 10m }'],
  ] as const) {
    it(`${name}: fails with HEALTH_FAILED after the threshold's checks, quoting each instance's last answer`, async () => {
      h = await startLogic(serviceYaml(strategy));
      await h.finish(await deploy(h, 'v1'));
      h.runtime.unhealthyVersions.add('v2');
      const checks = countChecks(h, 'v2');
      const failed = await h.finish(await deploy(h, 'v2'));
      assert.equal(failed.outcome, 'failed');
      assert.equal(failed.error?.code, 'HEALTH_FAILED', failed.error?.message);
      assert.equal(checks.size, 2, 'both new instances were checked');
      for (const [id, count] of checks) {
        assert.equal(count, CHECKS_BEFORE_FAILING, `${id}: checks made before failing`);
        assert.match(failed.error?.message ?? '', new RegExp(`${id} is unhealthy: 127\\.0\\.0\\.1:\\d+ answered 500`));
      }
      assert.equal(h.versionServed(), 'v1', 'the old release keeps serving');
    });
  }

  it('rolling: the batch fails on the threshold with the last answers, and the update rolls back', async () => {
    h = await startLogic(
      serviceYaml(
        '{ type: rolling, parallelism: 2, order: start-first, monitor: 5s, failure_action: rollback, timeout: 10m }',
        {
          instances: 2,
        },
      ),
    );
    await h.finish(await deploy(h, 'v1'));
    h.runtime.unhealthyVersions.add('v2');
    const checks = countChecks(h, 'v2');
    const op = await deploy(h, 'v2');
    const failed = await h.finish(op);
    assert.equal(failed.outcome, 'failed');
    assert.equal(failed.error?.code, 'ROLLING_BATCH_FAILED');
    assert.match(
      failed.error?.message ?? '',
      /batch 1 failed: release web-2 cannot become healthy: all 2 instances failed 2 health checks in a row/,
    );
    assert.match(failed.error?.message ?? '', /web\/web-2\/green-0 is unhealthy: 127\.0\.0\.1:\d+ answered 500/);
    assert.deepEqual([...checks.values()], [CHECKS_BEFORE_FAILING, CHECKS_BEFORE_FAILING]);
    assert.equal(h.versionServed(), 'v1');
  });

  it('a slow starter that opens its port late and then answers 503 fails on the threshold, not at the timeout', async () => {
    // The app opens its port 45 s after start (a Python or JVM boot): the checks at 30 s is refused, which makes
    // the instance unhealthy with the 503 at 60 s (2 failures in a row) but is not an answer of the app. The
    // 503 at 90 s completes the threshold's answered failures without a change of status; the deploy must
    // still fail there, not wait 10 minutes for its timeout.
    const clock = new ManualClock();
    h = await startLogic(serviceYaml('{ type: blue-green, auto_switch: true, timeout: 10m }'), {
      clock,
      store: SqliteStore.memory(),
      runtime: new FakeRuntime({ clock, readyAfterMs: 45_000 }),
    });
    await h.finish(await deploy(h, 'v1'));
    h.runtime.unhealthyVersions.add('v2');
    const checks = countChecks(h, 'v2');
    const op = await deploy(h, 'v2');
    const failed = await h.finish(op);
    assert.equal(failed.error?.code, 'HEALTH_FAILED', failed.error?.message);
    assert.ok(
      failed.finishedAt! - failed.startedAt < 120_000,
      `failed ${failed.finishedAt! - failed.startedAt} ms after the deploy started`,
    );
    for (const [id, count] of checks) assert.equal(count, 4, `${id}: checks made before failing`);
    assert.equal(h.versionServed(), 'v1');
  });

  it('one unhealthy instance among healthy ones is not the rule: the deploy waits for it until the timeout', async () => {
    h = await startLogic(serviceYaml('{ type: blue-green, auto_switch: true, timeout: 5m }'));
    await h.finish(await deploy(h, 'v1'));
    h.runtime.unhealthyVersions.add('v2');
    const checks = countChecks(h, 'v2');
    const op = await deploy(h, 'v2');
    await h.until(() => h.runtime.list().filter((i) => i.version === 'v2').length === 2);
    const first = h.runtime.list().find((i) => i.version === 'v2' && i.index === 0)!;
    h.runtime.setHealth(first.id, 'healthy');
    const failed = await h.finish(op);
    assert.equal(failed.error?.code, 'HEALTH_TIMEOUT', failed.error?.message);
    const sick = [...checks.entries()].find(([id]) => id !== first.id)!;
    assert.ok(
      sick[1] > CHECKS_BEFORE_FAILING,
      `the sick instance was checked on (${sick[1]} checks) until the timeout`,
    );
    assert.equal(h.versionServed(), 'v1');
  });
});
