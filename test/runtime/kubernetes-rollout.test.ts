import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PodView } from '../../src/runtime/kubernetes/kubernetes-pods.js';
import type { V1ReplicaSet } from '@kubernetes/client-node';
import {
  deploymentView,
  rolloutProgress,
  rolloutSettingsOf,
  rolloutState,
  templateOfRelease,
  undoTemplate,
  type DeploymentView,
} from '../../src/runtime/kubernetes/kubernetes-rollout.js';

const rolling = {
  parallelism: 2,
  order: 'start-first' as const,
  delayMs: 500,
  monitorMs: 2_000,
  failureAction: 'rollback' as const,
  maxFailureRatio: 0,
  deployTimeoutMs: 60_000,
};

function deployment(over: Partial<DeploymentView>): DeploymentView {
  return {
    generation: 2,
    observedGeneration: 2,
    wanted: 3,
    replicas: 3,
    updated: 3,
    available: 3,
    progressing: { status: 'True', reason: 'NewReplicaSetAvailable', message: '' },
    ...over,
  };
}

function pod(name: string, over: Partial<PodView> = {}): PodView {
  return {
    name,
    uid: `uid-${name}`,
    release: 'r1',
    deleting: false,
    phase: 'Running',
    ip: `10.89.0.${name.length + 10}`,
    node: 'localhost',
    ready: true,
    restarts: 0,
    running: true,
    terminated: null,
    lastTerminated: null,
    waiting: null,
    unschedulable: null,
    ...over,
  };
}

describe('Kubernetes rollout: the strategy as the Deployment’s keys', () => {
  it('start-first surges by the batch, stop-first takes the batch down; never past the instance count', () => {
    assert.deepEqual(rolloutSettingsOf(rolling, 3).strategy.rollingUpdate, { maxSurge: 2, maxUnavailable: 0 });
    assert.deepEqual(rolloutSettingsOf({ ...rolling, order: 'stop-first' }, 3).strategy.rollingUpdate, {
      maxSurge: 0,
      maxUnavailable: 2,
    });
    assert.deepEqual(rolloutSettingsOf({ ...rolling, parallelism: 10 }, 3).strategy.rollingUpdate, {
      maxSurge: 3,
      maxUnavailable: 0,
    });
  });

  it('monitor plus delay become minReadySeconds, and the progress deadline always exceeds it', () => {
    const settings = rolloutSettingsOf(rolling, 3);
    assert.equal(settings.minReadySeconds, 3);
    assert.equal(settings.progressDeadlineSeconds, 60);
    const short = rolloutSettingsOf({ ...rolling, monitorMs: 30_000, deployTimeoutMs: 5_000 }, 3);
    assert.ok(short.progressDeadlineSeconds > short.minReadySeconds, JSON.stringify(short));
  });
});

describe('Kubernetes rollout: the Deployment’s status as the update’s state', () => {
  it('is updating until the controller has seen the change, every pod is new and available, and no old one is left', () => {
    assert.equal(rolloutState(deployment({ observedGeneration: 1 }), false).state, 'updating');
    assert.equal(rolloutState(deployment({ updated: 2 }), false).state, 'updating');
    assert.equal(rolloutState(deployment({ replicas: 4 }), false).state, 'updating', 'an old pod still runs');
    assert.equal(rolloutState(deployment({ available: 2 }), false).state, 'updating');
    assert.equal(rolloutState(deployment({}), false).state, 'completed');
  });

  it('a rollout past its progress deadline is paused, with the Deployment’s message', () => {
    const stalled = deployment({
      updated: 1,
      progressing: {
        status: 'False',
        reason: 'ProgressDeadlineExceeded',
        message: 'ReplicaSet "web-5d" has timed out progressing.',
      },
    });
    assert.deepEqual(rolloutState(stalled, false), {
      state: 'paused',
      message: 'ReplicaSet "web-5d" has timed out progressing.',
    });
    assert.equal(rolloutState(stalled, true).state, 'rollback_paused');
  });

  it('while cutover rolls back, the same reading gives the rollback’s states', () => {
    assert.equal(rolloutState(deployment({ updated: 1 }), true).state, 'rollback_started');
    assert.equal(rolloutState(deployment({}), true).state, 'rollback_completed');
  });
});

describe('Kubernetes rollout: pods as tasks and problems', () => {
  it('routes to the running pods of both releases that are Ready, never to one being deleted', () => {
    const progress = rolloutProgress({
      deployment: deployment({ updated: 1 }),
      rollingBack: false,
      newVersion: 'v2',
      port: 8080,
      pods: [
        { pod: pod('old-a'), version: 'v1' },
        { pod: pod('old-b', { deleting: true }), version: 'v1' },
        { pod: pod('new-a', { ready: false }), version: 'v2' },
        {
          pod: pod('new-b', { running: false, ip: null, waiting: { reason: 'ContainerCreating', message: '' } }),
          version: 'v2',
        },
      ],
    });
    assert.deepEqual(
      progress.tasks.map((t) => [t.id, t.version, t.port, t.answers]),
      [
        ['uid-old-a', 'v1', 8080, true],
        ['uid-new-a', 'v2', 8080, false],
      ],
    );
    assert.deepEqual(progress.problems, [], 'a container being created is no problem');
  });

  it('says why the new release’s pods do not come up, and not the old release’s troubles', () => {
    const progress = rolloutProgress({
      deployment: deployment({ updated: 1 }),
      rollingBack: false,
      newVersion: 'v2',
      port: 8080,
      pods: [
        { pod: pod('old-a', { lastTerminated: { exitCode: 137, reason: 'OOMKilled' } }), version: 'v1' },
        {
          pod: pod('new-a', {
            running: false,
            waiting: { reason: 'CrashLoopBackOff', message: 'back-off 10s restarting failed container' },
            lastTerminated: { exitCode: 1, reason: 'Error' },
          }),
          version: 'v2',
        },
        {
          pod: pod('new-b', { running: false, unschedulable: '0/1 nodes are available: 1 Insufficient cpu.' }),
          version: 'v2',
        },
      ],
    });
    assert.deepEqual(progress.problems, [
      'pod new-a: CrashLoopBackOff: back-off 10s restarting failed container',
      'pod new-a exited with code 1 (Error)',
      'pod new-b cannot be scheduled: 0/1 nodes are available: 1 Insufficient cpu.',
    ]);
  });

  it("reads a Deployment's status, and a stalled one from its Progressing condition", () => {
    const view = deploymentView({
      metadata: { generation: 4 },
      spec: { replicas: 3, selector: {}, template: {} },
      status: {
        observedGeneration: 4,
        replicas: 4,
        updatedReplicas: 1,
        availableReplicas: 3,
        conditions: [
          { type: 'Available', status: 'True' },
          {
            type: 'Progressing',
            status: 'False',
            reason: 'ProgressDeadlineExceeded',
            message: 'ReplicaSet "x" has timed out progressing.',
          },
        ],
      },
    });
    assert.deepEqual(view, {
      generation: 4,
      observedGeneration: 4,
      wanted: 3,
      replicas: 4,
      updated: 1,
      available: 3,
      progressing: {
        status: 'False',
        reason: 'ProgressDeadlineExceeded',
        message: 'ReplicaSet "x" has timed out progressing.',
      },
    });
    assert.equal(rolloutState(view, false).state, 'paused');
    assert.equal(deploymentView({}).progressing, null, 'a Deployment the controller has not looked at yet');
  });

  it('undoes to the template of the ReplicaSet of the revision before, without its pod-template-hash', () => {
    const rs = (revision: string, owner: string, image: string): V1ReplicaSet => ({
      metadata: {
        annotations: { 'deployment.kubernetes.io/revision': revision },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'd', uid: owner }],
      },
      spec: {
        selector: {},
        template: {
          metadata: { labels: { 'cutover.release': `r${revision}`, 'pod-template-hash': `h${revision}` } },
          spec: { containers: [{ name: 'app', image }] },
        },
      },
    });
    const sets = [
      rs('1', 'other-uid', 'a:old'),
      rs('2', 'uid', 'a:v2'),
      rs('3', 'uid', 'a:v3'),
      rs('1', 'uid', 'a:v1'),
    ];
    const template = undoTemplate(sets, 'uid', '2');
    assert.deepEqual(template?.metadata?.labels, { 'cutover.release': 'r2' });
    assert.equal(template?.spec?.containers[0]?.image, 'a:v2');
    assert.equal(
      sets[1]!.spec!.template!.metadata!.labels!['pod-template-hash'],
      'h2',
      'the ReplicaSet is not changed',
    );
    assert.equal(
      undoTemplate(sets, 'uid', '1')?.spec?.containers[0]?.image,
      'a:v1',
      "the Deployment's own, not another's",
    );
    assert.equal(undoTemplate(sets, 'uid', '9'), null);
    // After a restart cut an update short: the newest template of the recorded release.
    assert.equal(templateOfRelease(sets, 'uid', 'r3')?.spec?.containers[0]?.image, 'a:v3');
    assert.deepEqual(templateOfRelease(sets, 'uid', 'r2')?.metadata?.labels, { 'cutover.release': 'r2' });
    assert.equal(templateOfRelease(sets, 'other', 'r2'), null, "another Deployment's ReplicaSets are not looked at");
    assert.equal(undoTemplate(sets, 'uid', null), null);
  });
});
