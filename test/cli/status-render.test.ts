import assert from 'node:assert/strict';
import { stripVTControlCharacters } from 'node:util';
import { describe, it } from 'node:test';
import { renderStatus } from '../../src/cli/commands/status-command.js';
import type { InstanceStatus, ServiceStatus, SlotStatus } from '../../src/controller/service-status.js';

function instance(index: number, over: Partial<InstanceStatus>): InstanceStatus {
  return {
    id: `web/web-1/blue-${index}`,
    slot: 'blue',
    index,
    host: '127.0.0.1',
    port: 4000 + index,
    pid: null,
    health: 'healthy',
    lastCheck: null,
    restarts: 0,
    node: null,
    ...over,
  };
}

function status(instances: InstanceStatus[]): ServiceStatus {
  const active: SlotStatus = {
    releaseId: 'web-1',
    version: 'v1',
    slot: 'blue',
    state: 'active',
    since: null,
    scaleDownAt: null,
    instances,
    running: `${instances.length}/${instances.length}`,
    traffic: null,
  };
  return {
    service: 'web',
    hosts: ['web.example'],
    default: false,
    critical: false,
    strategy: 'blue-green',
    active,
    standby: null,
    incoming: null,
    canary: null,
    operation: null,
    lock: null,
    maintenance: null,
    analysis: [],
    recent: [],
  };
}

describe('cutover status: where each instance runs', () => {
  it('names the node of an instance on a cluster (Swarm, Kubernetes) instead of a pid it cannot have', () => {
    const text = stripVTControlCharacters(
      renderStatus(status([instance(0, { node: 'worker-a' }), instance(1, { node: 'worker-b' })])),
    );
    assert.match(text, /web\/web-1\/blue-0 {2}port 4000 {2}node worker-a {2}healthy/);
    assert.match(text, /web\/web-1\/blue-1 {2}port 4001 {2}node worker-b {2}healthy/);
    assert.doesNotMatch(text, /pid/);
  });

  it('shows the pid of a local process, and no node', () => {
    const text = stripVTControlCharacters(renderStatus(status([instance(0, { pid: 4242 })])));
    assert.match(text, /web\/web-1\/blue-0 {2}port 4000 {2}pid 4242 {2}healthy/);
    assert.doesNotMatch(text, /node/);
  });

  it('shows the new release of a deploy at ready, with its instances, and how to switch to it', () => {
    const ready: ServiceStatus = {
      ...status([instance(0, { pid: 4242 })]),
      incoming: {
        ...status([instance(0, { id: 'web/web-2/green-0', slot: 'green', pid: 4343 })]).active!,
        releaseId: 'web-2',
        version: 'v2',
        slot: 'green',
        state: 'deploying',
      },
      operation: { id: 'op-1', kind: 'deploy', phase: 'ready', releaseId: 'web-2', startedAt: 0, actor: 'ana' },
    };
    const text = stripVTControlCharacters(renderStatus(ready));
    assert.match(text, /\n {2}new {6}green v2 \(web-2\) {2}instances 1\/1/);
    assert.match(text, /web\/web-2\/green-0 {2}port 4000 {2}pid 4343 {2}healthy/);
    assert.match(text, /no traffic yet: `cutover promote web` switches to it/);
  });
});
