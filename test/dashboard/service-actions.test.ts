import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { enabledActions } from '../../web/dashboard/service-actions.js';
import { serviceOrder } from '../../web/dashboard/service-order.js';
import type { CanaryStatus, ServiceStatus, SlotStatus } from '../../web/dashboard/wire-types.js';

// The buttons of a service card are enabled only when the controller would accept the command
// (issue 20, item 17: after a pause both Pause and Resume were enabled).
const slot = (releaseId: string, version: string): SlotStatus => ({
  releaseId,
  version,
  slot: 'blue',
  state: 'active',
  instances: [],
  running: '2/2',
});

function status(strategy: string, phase: string | null, canary: Partial<CanaryStatus> | null = null): ServiceStatus {
  return {
    service: 'shop',
    hosts: ['shop.localhost'],
    strategy,
    active: slot('shop-1', 'v1'),
    standby: null,
    canary: canary
      ? {
          ...slot('shop-2', 'v2'),
          weight: 25,
          step: 1,
          steps: 2,
          phase: 'stepping',
          pausedBy: null,
          ...canary,
        }
      : null,
    operation:
      phase === null ? null : { id: 'op-1', kind: 'deploy', phase, releaseId: 'shop-2', startedAt: 0, actor: 'test' },
    recent: [],
  };
}

const enabled = (s: ServiceStatus): string[] => [...enabledActions(s)].sort();

describe('which buttons of a service card apply', () => {
  it('a canary counting down its step: pause, not resume', () => {
    assert.deepEqual(enabled(status('canary', 'stepping', { phase: 'stepping' })), ['abort', 'pause', 'promote']);
  });

  it('a canary paused by a person or an inconclusive analysis: resume, not pause', () => {
    for (const pausedBy of ['user', 'inconclusive'])
      assert.deepEqual(enabled(status('canary', 'paused', { phase: 'paused', pausedBy })), [
        'abort',
        'promote',
        'resume',
      ]);
  });

  it('a step without a timer waits for promote; an approval gate for approve only', () => {
    assert.deepEqual(enabled(status('canary', 'paused', { phase: 'paused', pausedBy: 'step' })), ['abort', 'promote']);
    assert.deepEqual(enabled(status('canary', 'paused', { phase: 'paused', pausedBy: 'approval' })), [
      'abort',
      'approve',
    ]);
  });

  it('a promoted canary in its post-promotion window, and a blue-green watching: finish', () => {
    assert.deepEqual(enabled(status('canary', 'post-promotion')), ['abort', 'finish']);
    assert.deepEqual(enabled(status('blue-green', 'watching')), ['abort', 'finish']);
  });

  it('a blue-green deploy at ready, a rolling update paused, and nothing running', () => {
    assert.deepEqual(enabled(status('blue-green', 'ready')), ['abort', 'approve', 'promote']);
    assert.deepEqual(enabled(status('rolling', 'paused')), ['abort', 'resume']);
    assert.deepEqual(enabled(status('rolling', 'monitoring')), ['abort']);
    assert.deepEqual(enabled(status('canary', null)), ['rollback']);
  });
});

describe('the order of the service cards', () => {
  it('puts services with a running operation first, the others in config order', () => {
    const services = [
      { service: 'web', operation: null },
      { service: 'roll', operation: null },
      { service: 'shop', operation: status('canary', 'stepping').operation },
      { service: 'gate', operation: null },
    ];
    assert.deepEqual(serviceOrder(services), ['shop', 'web', 'roll', 'gate']);
    assert.deepEqual(serviceOrder(services.map((s) => ({ ...s, operation: null }))), ['web', 'roll', 'shop', 'gate']);
  });
});
