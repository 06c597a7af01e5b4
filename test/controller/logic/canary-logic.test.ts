import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { serviceYaml, startLogic, type LogicHarness } from './logic-harness.js';

const STEPS =
  '{ type: canary, steps: [{ weight: 20, pause: 1m }, { weight: 50, pause: 1m }, { weight: 100 }], timeout: 30s }';
const deploy = (h: LogicHarness, version: string) => h.controller.deploy('web', { version, actor: 'test' });
const weight = (h: LogicHarness) => h.router.routeOf('web')?.canary?.weight ?? null;

/** Share of `n` requests (distinct client addresses: the default stickiness keys on them) that reach `version`. */
function share(h: LogicHarness, version: string, n = 1000): number {
  let hits = 0;
  for (let i = 0; i < n; i++) {
    const routing = h.router.route({ host: 'web.localhost', ip: `10.0.${Math.floor(i / 250)}.${i % 250}` });
    if (routing.routed && routing.version === version) hits++;
  }
  return hits / n;
}

describe('canary over fakes', () => {
  let h: LogicHarness;
  afterEach(async () => {
    await h?.close();
  });

  it('walks the steps on the clock and ends with all traffic on the canary', async () => {
    h = await startLogic(serviceYaml(STEPS));
    await h.finish(await deploy(h, 'v1'));
    const op = await deploy(h, 'v2');
    await h.until(() => weight(h) === 20);
    const early = share(h, 'v2');
    assert.ok(early > 0.1 && early < 0.3, `about 20% on the canary, got ${early}`);
    await h.clock.advance(30_000);
    assert.equal(weight(h), 20, 'the step holds for its pause');
    await h.until(() => weight(h) === 50);
    assert.equal((await h.finish(op)).outcome, 'succeeded');
    assert.equal(h.versionServed(), 'v2');
    assert.equal(weight(h), null, 'no canary route once promoted');
  });

  it('abort sends everything back to the stable release and stops the canary', async () => {
    h = await startLogic(serviceYaml(STEPS));
    await h.finish(await deploy(h, 'v1'));
    const op = await deploy(h, 'v2');
    await h.until(() => weight(h) === 20);
    await h.controller.abort('web', 'test');
    const done = await h.finish(op);
    assert.equal(done.outcome, 'aborted');
    assert.equal(share(h, 'v1', 200), 1);
    assert.deepEqual([...new Set(h.runtime.list().map((i) => i.version))], ['v1']);
  });

  it('pause holds the weight past the step and resume goes on', async () => {
    h = await startLogic(serviceYaml(STEPS));
    await h.finish(await deploy(h, 'v1'));
    const op = await deploy(h, 'v2');
    await h.until(() => weight(h) === 20);
    await h.controller.pause('web', 'test');
    await h.clock.advance(5 * 60_000);
    assert.equal(weight(h), 20);
    const resumed = h.controller.resume('web', 'test');
    assert.equal((await h.finish(op)).outcome, 'succeeded');
    await resumed;
  });
});

describe('canary analysis lines over fakes', () => {
  let h: LogicHarness;
  afterEach(async () => {
    await h?.close();
  });

  it('a template on a step and in the background prints two lines that say which is which', async () => {
    // Issue 20, item 12: both runs measured the same metric and printed the same line twice.
    const analysis = `analysis:
  errors:
    metrics:
      - { name: error-rate, provider: { builtin: error-rate }, interval: 10s, failure_condition: result > 0.05 }
`;
    h = await startLogic(
      serviceYaml(
        '{ type: canary, analysis: [errors], on_inconclusive: continue, steps: [{ weight: 20, pause: 30s, analysis: [errors] }, { weight: 100 }], timeout: 30s }',
        { topLevel: analysis },
      ),
    );
    await h.finish(await deploy(h, 'v1'));
    const op = await deploy(h, 'v2');
    await h.until(() => weight(h) === 20);
    await h.clock.advance(25_000);
    const lines = h
      .events(op)
      .filter((e) => e.type === 'analysis.measurement')
      .map((e) => e.message);
    const background = lines.filter((line) => line.startsWith('errors/error-rate (background): '));
    const step = lines.filter((line) => line.startsWith('errors/error-rate: '));
    assert.ok(background.length >= 2 && step.length >= 2, lines.join('\n'));
    assert.equal(background.length + step.length, lines.length, lines.join('\n'));
    await h.finish(op);
  });
  it('a command that does not apply says what the canary waits for and which command does', async () => {
    // At a step without a pause time the canary *is* paused, yet resume cannot end it: "is paused; resume
    // does not apply" (with a hint of `cutover status <service>`, the name left unfilled) left people guessing.
    h = await startLogic(
      serviceYaml('{ type: canary, steps: [{ weight: 20, pause: 1m }, { weight: 50, pause: promote }], timeout: 30s }'),
    );
    await h.finish(await deploy(h, 'v1'));
    const op = await deploy(h, 'v2');
    await h.until(() => weight(h) === 20);
    await assert.rejects(h.controller.resume('web', 'test'), {
      code: 'INVALID_STATE',
      message: 'the canary of web is not paused: it runs step 1/3 (20% of traffic)',
      hint: 'Run `cutover pause web` to hold it at this step, or `cutover status web` to see it.',
    });
    await h.until(() => h.controller.status('web').canary?.pausedBy === 'step');
    for (const command of ['resume', 'pause'] as const)
      await assert.rejects(h.controller[command]('web', 'test'), {
        code: 'INVALID_STATE',
        message:
          'the canary of web waits at step 2/3 (50% of traffic) for promote: the step has no pause time, and only promote ends it',
        hint: 'Run `cutover promote web` to go on to the next step, or `cutover abort web` to send all traffic back to the stable release.',
      });
    await h.controller.promote('web', 'test');
    assert.equal((await h.finish(op)).outcome, 'succeeded');
  });
});
