import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  planBatches,
  rollingTransition,
  startRolling,
  type RollingEvent,
  type RollingOptions,
  type RollingTransition,
} from '../../src/core/rolling-strategy.js';
import { addClause, withLogTail } from '../../src/core/log-tail-message.js';

const options: RollingOptions = {
  order: 'start-first',
  batchSize: 1,
  delayMs: 0,
  monitorMs: 1000,
  failureAction: 'rollback',
  maxFailureRatio: 0,
  deployTimeoutMs: 10_000,
};

function run(opts: Partial<RollingOptions>, events: RollingEvent[], total = 4): RollingTransition[] {
  const out = [
    startRolling({ releaseId: 'api-2', previousReleaseId: 'api-1', total, options: { ...options, ...opts } }, 0),
  ];
  for (const event of events) out.push(rollingTransition(out.at(-1)!.state, event, 100));
  return out;
}
const types = (t: RollingTransition): string[] => t.commands.map((c) => c.type);
const batch = (i: number): RollingEvent[] => [
  { type: 'batch-healthy', batchIndex: i },
  { type: 'old-stopped', batchIndex: i },
  { type: 'monitor-passed', batchIndex: i },
];

describe('rolling strategy', () => {
  it('puts its own words before an instance’s last log lines, never after them as if the app wrote them', () => {
    const exited = withLogTail(
      'instance api-2-1 exited with code 1 before it became healthy',
      'listening\nError: boom',
    );
    const announced = (opts: Partial<RollingOptions>): string => {
      const t = run(opts, [{ type: 'batch-failed', batchIndex: 0, message: exited }]);
      const note = t[1]!.commands.find((c) => c.type === 'announce');
      assert.ok(note !== undefined && note.type === 'announce');
      return note.message;
    };
    assert.equal(
      announced({ maxFailureRatio: 1 }),
      'batch 1 failed: instance api-2-1 exited with code 1 before it became healthy; continuing (1 of 4 instance(s) failed); last log lines:\nlistening\nError: boom',
    );
    const paused = announced({ failureAction: 'pause' });
    assert.ok(paused.endsWith('\nError: boom'), paused);
    assert.match(paused, /; paused: `cutover resume` retries the batch, `cutover abort` rolls back; last log lines:\n/);
    // A message without log lines just gets the clause.
    assert.equal(addClause('no answer', 'continuing'), 'no answer; continuing');
  });

  it('plans batches', () => {
    assert.deepEqual(planBatches(4, 1), [[0], [1], [2], [3]]);
    assert.deepEqual(planBatches(5, 2), [[0, 1], [2, 3], [4]]);
  });

  it('start-first: a new instance is healthy before the old one stops; traffic follows the share; then promote', () => {
    const t = run({}, [...batch(0), ...batch(1), ...batch(2), ...batch(3)]);
    assert.deepEqual(types(t[0]!), ['announce', 'start-new']);
    assert.deepEqual(t[1]!.commands, [
      { type: 'route', newShare: 25 },
      { type: 'stop-old', batchIndex: 0, indexes: [0] },
    ]);
    assert.deepEqual(types(t[2]!), ['monitor']);
    const shares = t.flatMap((x) => x.commands.flatMap((c) => (c.type === 'route' ? [c.newShare] : [])));
    assert.deepEqual(shares, [25, 50, 75, 100]);
    assert.equal(t.at(-1)!.state.phase, 'succeeded');
    assert.deepEqual(types(t.at(-1)!), ['promote-release', 'finish']);
  });

  it('stop-first: the old instance is routed away and stopped before the new one starts', () => {
    const t = run({ order: 'stop-first' }, [
      { type: 'old-stopped', batchIndex: 0 },
      { type: 'batch-healthy', batchIndex: 0 },
    ]);
    assert.deepEqual(t[0]!.commands.slice(1), [
      { type: 'route', newShare: 0 },
      { type: 'stop-old', batchIndex: 0, indexes: [0] },
    ]);
    assert.deepEqual(types(t[1]!), ['start-new']);
    assert.deepEqual(t[2]!.commands[0], { type: 'route', newShare: 25 });
  });

  it('a failure at instance 2 with failure_action rollback restores the replaced instance and ends failed', () => {
    const t = run({}, [
      ...batch(0),
      { type: 'batch-failed', batchIndex: 1, message: 'api-2 instance 1 not healthy' },
      { type: 'rolled-back' },
    ]);
    const rollback = t[4]!;
    assert.equal(rollback.state.phase, 'rolling-back');
    assert.deepEqual(rollback.commands.at(-1), { type: 'roll-back', indexes: [0] });
    assert.equal(t[5]!.state.phase, 'failed');
    assert.match(t[5]!.state.error?.message ?? '', /batch 2 failed: api-2 instance 1 not healthy/);
  });

  it('stop-first rollback also restores the current batch whose old instance is gone', () => {
    const t = run({ order: 'stop-first' }, [
      { type: 'old-stopped', batchIndex: 0 },
      { type: 'batch-failed', batchIndex: 0, message: 'exit 1' },
    ]);
    assert.deepEqual(t.at(-1)!.commands.at(-1), { type: 'roll-back', indexes: [0] });
  });

  it('pause waits for a person and resume retries the batch; continue goes on', () => {
    const paused = run({ failureAction: 'pause' }, [
      { type: 'batch-failed', batchIndex: 0, message: 'x' },
      { type: 'resume' },
    ]);
    assert.equal(paused[1]!.state.phase, 'paused');
    assert.deepEqual(types(paused[2]!), ['announce', 'start-new']);
    const cont = run({ failureAction: 'continue' }, [{ type: 'batch-failed', batchIndex: 0, message: 'x' }]);
    assert.deepEqual(types(cont[1]!), ['announce', 'stop-old']);
  });

  it('max_failure_ratio tolerates failures before the failure action', () => {
    const t = run({ maxFailureRatio: 0.25 }, [{ type: 'batch-failed', batchIndex: 0, message: 'x' }]);
    assert.notEqual(t[1]!.state.phase, 'rolling-back');
    const t2 = run({ maxFailureRatio: 0.25 }, [
      { type: 'batch-failed', batchIndex: 0, message: 'x' },
      { type: 'old-stopped', batchIndex: 0 },
      { type: 'monitor-passed', batchIndex: 0 },
      { type: 'batch-failed', batchIndex: 1, message: 'y' },
    ]);
    assert.equal(t2.at(-1)!.state.phase, 'rolling-back');
  });

  it('abort rolls back with outcome aborted; a delay waits between batches', () => {
    const t = run({}, [...batch(0), { type: 'abort', reason: 'by me' }, { type: 'rolled-back' }]);
    assert.equal(t.at(-1)!.state.phase, 'aborted');
    const d = run({ delayMs: 5000 }, batch(0));
    assert.deepEqual(d.at(-1)!.commands, [{ type: 'wait', batchIndex: 0, until: 5100 }]);
    const stale = rollingTransition(d.at(-1)!.state, { type: 'delay-elapsed', batchIndex: 3 }, 200);
    assert.deepEqual(stale.commands, []);
  });
});
