import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { formatInstant } from '../../../src/controller/lock-holder.js';
import { CutoverError } from '../../../src/core/errors.js';
import { serviceYaml, startLogic, type LogicHarness } from './logic-harness.js';

// Issue 20, item 2: during a post_promotion window, `deploy` said "Wait for the
// running operation to finish, or abort it"; the user aborted and production went
// back from v6 to v2. The refusal must say what holds the lock and until when, and
// offer the real choices: `finish` keeps the new release, `abort` rolls back (and
// says so before it acts).
const ANALYSIS = `analysis:
  quiet:
    metrics:
      - name: error-rate
        provider: { builtin: error-rate }
        interval: 1m
        failure_condition: result > 0.5
        consecutive_error_limit: 1000
`;
const BLUE_GREEN =
  '{ type: blue-green, auto_switch: true, timeout: 30s, post_promotion: { window: 10m, analysis: [quiet] } }';
const CANARY =
  '{ type: canary, steps: [{ weight: 20, pause: 1m }, { weight: 100 }], timeout: 30s, post_promotion: { window: 10m, analysis: [quiet] } }';

const deploy = (h: LogicHarness, version: string) => h.controller.deploy('web', { version, actor: 'ana' });

async function refusal(work: Promise<unknown>): Promise<CutoverError> {
  try {
    await work;
  } catch (error) {
    assert.ok(error instanceof CutoverError, String(error));
    return error;
  }
  assert.fail('expected a refusal');
}

async function inWindow(strategy: string): Promise<{ h: LogicHarness; opId: string }> {
  const h = await startLogic(serviceYaml(strategy, { topLevel: ANALYSIS }));
  await h.finish(await deploy(h, 'v1'));
  const op = await deploy(h, 'v2');
  const phase = strategy.includes('canary') ? 'post-promotion' : 'watching';
  await h.until(() => h.store.getOperation(op.id)?.phase === phase);
  assert.equal(h.versionServed(), 'v2');
  return { h, opId: op.id };
}

describe('the post-promotion window: what holds the lock, and the two real choices', () => {
  let h: LogicHarness;
  afterEach(async () => {
    await h?.close();
  });

  it('a deploy refused during a blue-green window names the operation, its phase, its end and both choices', async () => {
    const started = await inWindow(BLUE_GREEN);
    h = started.h;
    const switchedAt = h.store.getRelease('web-2')!.activatedAt!;
    const endsAt = formatInstant(switchedAt + 10 * 60_000);
    const locked = await refusal(deploy(h, 'v3'));
    assert.equal(locked.code, 'DEPLOY_LOCKED');
    assert.match(locked.message, /^service 'web' is locked by ana since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ: /);
    assert.match(
      locked.message,
      new RegExp(`deploy ${started.opId} is in the post_promotion window of v2 \\(web-2\\)`),
    );
    assert.match(locked.message, /until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.ok(locked.message.includes(`until ${endsAt}`), `${locked.message} should end at ${endsAt}`);
    assert.ok(locked.hint.includes(`Wait until ${endsAt}`), locked.hint);
    assert.match(locked.hint, /`cutover finish web` ends the window keeping v2 \(web-2\)/);
    assert.match(locked.hint, /`cutover abort web` rolls back to v1 \(web-1\)/);
    assert.doesNotMatch(locked.hint, /or abort it\.$/);
    const details = locked.details as { kind: string; phase: string; until: number | null };
    assert.equal(details.kind, 'deploy');
    assert.equal(details.phase, 'watching');
    assert.equal(typeof details.until, 'number');
    // cleanup and rollback go through the same lock and get the same explanation.
    const cleanup = await refusal(h.controller.cleanup('web', 'ana'));
    assert.match(cleanup.hint, /cutover finish web/);
  });

  it('finish ends a blue-green window at once, keeping the new release; the lock is free', async () => {
    const started = await inWindow(BLUE_GREEN);
    h = started.h;
    const done = await h.controller.finish('web', 'ana');
    assert.equal(done.outcome, 'succeeded');
    assert.equal(h.versionServed(), 'v2');
    const types = h.store.eventsOf(started.opId).map((e) => e.type);
    assert.ok(types.includes('deploy.window-finished'), types.join(' '));
    const next = await deploy(h, 'v3');
    assert.equal((await h.finish(next)).outcome, 'succeeded');
    assert.equal(h.versionServed(), 'v3');
  });

  it('abort in a blue-green window rolls back to the previous release, and says so before it acts', async () => {
    const started = await inWindow(BLUE_GREEN);
    h = started.h;
    const done = await h.finish(await h.controller.abort('web', 'ana'));
    assert.equal(done.outcome, 'aborted');
    assert.equal(done.error?.code, 'DEPLOY_ABORTED');
    assert.equal(h.versionServed(), 'v1');
    const events = h.store.eventsOf(started.opId);
    const said = events.findIndex((e) => e.type === 'deploy.abort-requested');
    const acted = events.findIndex((e) => e.type === 'deploy.rolled-back');
    assert.ok(said >= 0 && acted > said, events.map((e) => e.type).join(' '));
    assert.match(events[said]!.message, /rolling back from v2 \(web-2\) to v1 \(web-1\)/);
  });

  it('a canary window: the same refusal, finish keeps the canary, abort is announced as a rollback', async () => {
    const started = await inWindow(CANARY);
    h = started.h;
    const locked = await refusal(deploy(h, 'v3'));
    assert.match(locked.message, /post_promotion window of v2 \(web-2\).*until/);
    assert.match(locked.hint, /`cutover abort web` rolls back to v1 \(web-1\)/);
    const done = await h.controller.finish('web', 'ana');
    assert.equal((await h.finish(done)).outcome, 'succeeded');
    assert.equal(h.versionServed(), 'v2');
  });

  it('abort of a promoted canary says it rolls back before it does', async () => {
    const started = await inWindow(CANARY);
    h = started.h;
    await h.finish(await h.controller.abort('web', 'ana'));
    assert.equal(h.versionServed(), 'v1');
    const events = h.store.eventsOf(started.opId);
    const said = events.findIndex((e) => e.type === 'deploy.abort-requested');
    const acted = events.findIndex((e) => e.type === 'canary.rolled-back');
    assert.ok(said >= 0 && acted > said, events.map((e) => e.type).join(' '));
    assert.match(events[said]!.message, /rolling back from v2 \(web-2\) to v1 \(web-1\)/);
  });

  it('before the switch the refusal offers abort as what it is: traffic stays where it is', async () => {
    h = await startLogic(serviceYaml('{ type: blue-green, auto_switch: false, timeout: 30s }'));
    await h.finish(await h.controller.deploy('web', { version: 'v1', actor: 'ana', autoSwitch: true }));
    const op = await deploy(h, 'v2');
    await h.until(() => h.store.getOperation(op.id)?.phase === 'ready');
    const locked = await refusal(deploy(h, 'v3'));
    assert.match(locked.message, new RegExp(`deploy ${op.id} is at phase ready`));
    assert.match(locked.hint, /`cutover abort web` stops it: all traffic stays on v1 \(web-1\)/);
    const finish = await refusal(h.controller.finish('web', 'ana'));
    assert.equal(finish.code, 'INVALID_STATE');
    assert.match(finish.message, /no post-promotion window of web is open/);
  });
});
