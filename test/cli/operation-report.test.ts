import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EXIT } from '../../src/cli/exit-codes.js';
import { reportOf } from '../../src/cli/operation-report.js';
import type { OperationRecord } from '../../src/store/records.js';

// Issue 20, items 3 and 11: what the CLI says when it stops following an
// operation, as a function of the operation (NO_COLOR is not needed: a test's
// stdout is no terminal, so nothing is painted).
const base: OperationRecord = {
  id: 'op-1',
  service: 'shop',
  kind: 'deploy',
  releaseId: 'shop-2',
  fromReleaseId: 'shop-1',
  actor: 'ana',
  phase: 'paused',
  state: null,
  startedAt: 0,
  finishedAt: null,
  outcome: null,
  error: null,
};
const canary = (pausedBy: string) => ({
  strategy: 'canary',
  phase: 'paused',
  pausedBy,
  weight: 5,
  stepIndex: 0,
  steps: [{ weight: 5 }, { weight: 50 }, { weight: 100 }],
});

describe('what the CLI reports when it stops following', () => {
  it('a canary paused by an inconclusive analysis: paused, why, step and weight, exit 8, never "ready"', () => {
    const report = reportOf(
      {
        operation: { ...base, state: canary('inconclusive') },
        events: [
          { type: 'canary.paused', message: "step 1's analysis was inconclusive: waiting for promote or abort" },
        ],
        waiting: true,
        timedOut: false,
      },
      'deploy',
    );
    assert.equal(report.code, EXIT.PAUSED);
    assert.equal(report.stream, 'stdout');
    assert.match(
      report.text,
      /^paused: the canary shop-2 holds 5% of traffic at step 1\/3: the analysis was inconclusive/,
    );
    assert.match(report.text, /step 1's analysis was inconclusive/);
    assert.match(report.text, /next: cutover promote shop .* cutover abort shop \(all traffic back to shop-1\)/);
    assert.doesNotMatch(report.text, /ready|approve/);
  });

  it('a canary paused by a person says so and offers resume; a planned stop (step without pause, approval) exits 7', () => {
    const paused = reportOf(
      { operation: { ...base, state: canary('user') }, events: [], waiting: true, timedOut: false },
      'deploy',
    );
    assert.equal(paused.code, EXIT.PAUSED);
    assert.match(paused.text, /a person paused it/);
    assert.match(paused.text, /cutover resume shop/);
    const gate = reportOf(
      { operation: { ...base, state: canary('approval') }, events: [], waiting: true, timedOut: false },
      'deploy',
    );
    assert.equal(gate.code, EXIT.WAITING);
    assert.match(gate.text, /waits for an approval[\s\S]*cutover approve shop/);
    const step = reportOf(
      { operation: { ...base, state: canary('step') }, events: [], waiting: true, timedOut: false },
      'deploy',
    );
    assert.equal(step.code, EXIT.WAITING);
    assert.match(step.text, /waits for promote/);
  });

  it('a rolling update paused on an inconclusive batch says resume accepts it; a failed batch, that resume retries it', () => {
    const rolling = (pausedBy: string | null) =>
      reportOf(
        {
          operation: {
            ...base,
            state: { strategy: 'rolling', phase: 'paused', pausedBy, batchIndex: 0, batches: [[0], [1]] },
          },
          events: [],
          waiting: true,
          timedOut: false,
        },
        'deploy',
      );
    const inconclusive = rolling('inconclusive');
    assert.equal(inconclusive.code, EXIT.PAUSED);
    assert.match(inconclusive.text, /next: cutover resume shop \(accepts the batch and goes on\) · cutover abort shop/);
    assert.match(rolling(null).text, /next: cutover resume shop \(retries the batch\)/);
  });

  it('a blue-green deploy at ready still says ready, exit 7', () => {
    const ready = reportOf(
      { operation: { ...base, phase: 'ready', state: { phase: 'ready' } }, events: [], waiting: true, timedOut: false },
      'deploy',
    );
    assert.equal(ready.code, EXIT.WAITING);
    assert.match(ready.text, /^ready: .*\nnext: cutover promote shop/);
  });

  it('a failure names its error code', () => {
    const failed = reportOf(
      {
        operation: {
          ...base,
          phase: 'failed',
          outcome: 'failed',
          error: { code: 'HEALTH_TIMEOUT', message: 'not healthy within 3 s' },
        },
        events: [],
        waiting: false,
        timedOut: false,
      },
      'deploy',
    );
    assert.equal(failed.code, EXIT.TIMED_OUT);
    assert.match(failed.text, /^failed: not healthy within 3 s \(HEALTH_TIMEOUT\)\n/);
    const exited = reportOf(
      {
        operation: {
          ...base,
          phase: 'failed',
          outcome: 'failed',
          error: { code: 'INSTANCE_EXITED', message: 'exited; last log lines:\nboom' },
        },
        events: [],
        waiting: false,
        timedOut: false,
      },
      'deploy',
    );
    assert.match(exited.text, /^failed: exited; last log lines: \(INSTANCE_EXITED\)\nboom\n/);
  });

  it('an abort that did what it was asked exits 0 and sends nobody to the logs', () => {
    const aborted = { ...base, phase: 'aborted', outcome: 'aborted' as const };
    const error = { code: 'DEPLOY_ABORTED', message: 'aborted by ana' };
    const events = [
      { type: 'deploy.aborted', message: 'deploy aborted: aborted by ana; traffic stays on v1 (shop-1)' },
    ];
    const report = reportOf({ operation: { ...aborted, error }, events, waiting: false, timedOut: false }, 'abort');
    assert.equal(report.code, EXIT.OK);
    assert.match(report.text, /^done: deploy op-1 aborted; traffic stays on v1 \(shop-1\)/);
    assert.doesNotMatch(report.text, /logs/);
    // A rolled-back canary ends "failed" with DEPLOY_ABORTED: for `abort`, that is what was asked too.
    const rolledBack = { ...base, phase: 'rolled-back', outcome: 'failed' as const, error };
    const back = reportOf({ operation: rolledBack, events: [], waiting: false, timedOut: false }, 'abort');
    assert.equal(back.code, EXIT.OK);
    assert.match(back.text, /rolled back/);
    // The deploy that someone else aborted is still "aborted" (3) for the one who followed it.
    const followed = reportOf({ operation: { ...aborted, error }, events, waiting: false, timedOut: false }, 'deploy');
    assert.equal(followed.code, EXIT.ABORTED);
    assert.match(followed.text, /^aborted: aborted by ana \(DEPLOY_ABORTED\)/);
    assert.doesNotMatch(followed.text, /cutover logs/);
  });
});
