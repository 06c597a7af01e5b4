import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ServiceRoute } from '../../../src/router/index.js';
import { assignSlots } from '../../../src/router/haproxy/service-slots.js';

function route(stable: string | null, canary: string | null = null): ServiceRoute {
  const target = (releaseId: string) => ({ releaseId, version: releaseId, slot: 'blue' as const, upstreams: [] });
  return {
    service: 'web',
    hosts: ['web.test'],
    default: false,
    target: stable === null ? null : target(stable),
    canary:
      canary === null ? null : { target: target(canary), weight: 10, stickiness: { by: 'ip', name: '' }, match: [] },
  };
}

describe('service-slots', () => {
  it('gives a new release a slot no routed release holds, and keeps the slot of a release still routed', () => {
    const first = assignSlots(route('r1'), new Map(), new Map());
    assert.deepEqual([...first], [['r1', 0]]);
    const canary = assignSlots(route('r1', 'r2'), first, first);
    assert.deepEqual(
      [...canary],
      [
        ['r1', 0],
        ['r2', 1],
      ],
    );
    // Two releases before, two new after: four slots, none shared.
    const swap = assignSlots(route('r3', 'r4'), canary, canary);
    assert.deepEqual(
      [...swap],
      [
        ['r3', 2],
        ['r4', 3],
      ],
    );
    const promoted = assignSlots(route('r2'), canary, canary);
    assert.deepEqual([...promoted], [['r2', 1]]);
  });

  it('sends a release coming back to its old slot unless a routed release holds it', () => {
    const known = new Map([
      ['r1', 0],
      ['r2', 1],
    ]);
    assert.deepEqual([...assignSlots(route('r1'), new Map([['r2', 1]]), known)], [['r1', 0]]);
    // r3 took slot 0 since: r1 gets another.
    const known3 = new Map([
      ['r1', 0],
      ['r2', 1],
      ['r3', 0],
    ]);
    assert.deepEqual([...assignSlots(route('r1'), new Map([['r3', 0]]), known3)], [['r1', 1]]);
  });
});
