import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { planSwarmService, updateConfigOf, wrapperScript } from '../../../src/runtime/swarm/swarm-service-spec.js';
import { issueAt, issuesOf, parse } from '../../config/issues-of.js';

// `runtime: swarm` in cutover.yaml (validated once, at load time) and the
// Swarm service a release turns into. No daemon needed.
describe('swarm services in cutover.yaml', () => {
  it('takes the docker keys plus placement; instances are the replicas', () => {
    const config = parse(`services:
  web:
    runtime: swarm
    image: registry.example.com/shop:\${VERSION}
    instances: 3
    placement: [node.role==manager, "node.labels.zone != eu-1"]
    resources: { cpus: 0.5, memory: 256m }
`);
    const web = config.services.web!;
    assert.equal(web.runtime, 'swarm');
    assert.equal(web.instances, 3);
    assert.deepEqual(web.swarm, { placement: ['node.role==manager', 'node.labels.zone != eu-1'] });
    assert.equal(web.docker?.image, 'registry.example.com/shop:${VERSION}');
    assert.equal(web.docker?.memoryBytes, 256 * 1024 * 1024);
    assert.equal('swarm' in parse('services: { web: { runtime: docker, image: app } }').services.web!, false);
  });

  it('names the field of each mistake: placement off swarm, no image, bridge networking, a bad constraint', () => {
    const { byPath } = issuesOf(`services:
  web:
    runtime: swarm
    network: bridge
    container_port: 8080
    cwd: ./app
    placement: [node.role manager]
  box:
    runtime: docker
    image: app
    placement: [node.role==manager]
  local:
    command: node server.js
    placement: node.role==worker
  jobs:
    runtime: nomad
    command: x
`);
    assert.match(issueAt(byPath, 'services.web.image').message, /required for runtime "swarm"/);
    assert.match(
      issueAt(byPath, 'services.web.network').message,
      /runtime "swarm" runs every task on the host network/,
    );
    assert.match(issueAt(byPath, 'services.web.container_port').message, /not used by runtime "swarm"/);
    assert.match(issueAt(byPath, 'services.web.cwd').message, /not used by runtime "swarm"/);
    assert.match(
      issueAt(byPath, 'services.web.placement[0]').message,
      /expected a placement constraint like node.role==manager/,
    );
    assert.match(issueAt(byPath, 'services.box.placement').message, /only used by runtime "swarm"/);
    assert.match(issueAt(byPath, 'services.local.placement').message, /only used by runtime "swarm"/);
    assert.match(issueAt(byPath, 'services.jobs.runtime').message, /"swarm"/);
  });

  it('server.swarm.node_addresses: node ID or hostname to an IP address, each mistake named by its field', () => {
    const config = parse(`server:
  swarm:
    node_addresses: { worker-1: 10.0.0.12, "8a40akmzipjk2tk78kfghjt2j": " fd00::3 " }
services: { web: { runtime: swarm, image: app } }
`);
    assert.deepEqual(config.server.swarm.nodeAddresses, {
      'worker-1': '10.0.0.12',
      '8a40akmzipjk2tk78kfghjt2j': 'fd00::3',
    });
    assert.deepEqual(parse('services: { web: { command: x } }').server.swarm.nodeAddresses, {});
    const { byPath } = issuesOf(`server:
  swarm:
    node_addresses: { worker-1: worker-1.example.com, "bad name": 10.0.0.1 }
    nodes: 2
services: { web: { runtime: swarm, image: app } }
`);
    assert.match(
      issueAt(byPath, 'server.swarm.node_addresses.worker-1').message,
      /expected an IP address the tasks of that node listen on/,
    );
    assert.match(
      issueAt(byPath, 'server.swarm.node_addresses["bad name"]').message,
      /expected a swarm node ID or hostname/,
    );
    assert.match(issueAt(byPath, 'server.swarm.nodes').message, /node_addresses/);
  });
});

describe('the Swarm service of a release', () => {
  const release = {
    service: 'web',
    releaseId: 'web-3',
    version: 'v2',
    slot: 'green',
    command: '',
    env: { APP_VERSION: '${VERSION}', SELF: 'http://127.0.0.1:${PORT}/i/${INSTANCE}' },
    stopGracePeriodMs: 2_500,
  };
  const settings = {
    image: 'app:${VERSION}',
    pull: 'never' as const,
    network: 'host' as const,
    containerPort: null,
    cpus: 1,
    memoryBytes: 1024,
    labels: { team: 'a' },
  };

  it('one replicated service on the host network: labels, replicas, placement, grace period, limits, the image command wrapped', () => {
    const { name, image, spec } = planSwarmService({
      release,
      settings,
      swarm: { placement: ['node.role==manager'] },
      owner: 'abc',
      host: '127.0.0.1',
      portBase: 41000,
      replicas: 2,
      imageCommand: ['/usr/bin/node', 'server.js'],
      update: null,
    });
    assert.equal(name, 'cutover-abc-web-3-green');
    assert.equal(image, 'app:v2');
    assert.deepEqual(spec.Mode, { Replicated: { Replicas: 2 } });
    const task = spec.TaskTemplate as {
      ContainerSpec: { Command: string[]; Env: string[]; StopGracePeriod: number; Labels: Record<string, string> };
      Networks: unknown;
      Placement: unknown;
      Resources: unknown;
    };
    assert.deepEqual(task.Networks, [{ Target: 'host' }]);
    assert.deepEqual(task.Placement, { Constraints: ['node.role==manager'] });
    assert.deepEqual(task.Resources, { Limits: { NanoCPUs: 1e9, MemoryBytes: 1024 } });
    assert.equal(task.ContainerSpec.StopGracePeriod, 2_500_000_000);
    assert.deepEqual(task.ContainerSpec.Command.slice(0, 2), ['/bin/sh', '-c']);
    assert.ok(
      task.ContainerSpec.Env.includes('CUTOVER_PORT_BASE=41000') &&
        task.ContainerSpec.Env.includes('CUTOVER_TASK_SLOT={{.Task.Slot}}'),
    );
    assert.ok(
      task.ContainerSpec.Env.includes('APP_VERSION=v2') && !task.ContainerSpec.Env.some((e) => e.startsWith('SELF=')),
      'per-task env is set by the wrapper',
    );
    for (const labels of [spec.Labels, task.ContainerSpec.Labels]) {
      assert.deepEqual(
        [
          labels?.['cutover.owner'],
          labels?.['cutover.service'],
          labels?.['cutover.release'],
          labels?.['cutover.slot'],
          labels?.['cutover.version'],
          labels?.team,
        ],
        ['abc', 'web', 'web-3', 'green', 'v2', 'a'],
      );
    }
    assert.equal(spec.UpdateConfig, undefined);
  });

  it('the wrapper gives task slot N port base+N-1, and keeps every word as written', () => {
    const script = wrapperScript(['printf', '%s|', "it's $HOME", '--port=${PORT}', '${INSTANCE}'], {
      SELF: 'http://x:${PORT}/',
    });
    const out = execFileSync('/bin/sh', ['-c', script], {
      env: { CUTOVER_PORT_BASE: '41000', CUTOVER_TASK_SLOT: '3', HOME: '/nope' },
      encoding: 'utf8',
    });
    assert.equal(out, "it's $HOME|--port=41002|2|");
    const env = execFileSync(
      '/bin/sh',
      ['-c', wrapperScript(['/bin/sh', '-c', 'printf %s "$PORT $INSTANCE $SELF"'], { SELF: 'http://x:${PORT}/' })],
      { env: { CUTOVER_PORT_BASE: '41000', CUTOVER_TASK_SLOT: '1' }, encoding: 'utf8' },
    );
    assert.equal(env, '41000 0 http://x:41000/');
  });

  it("the wrapper binds HOST to the address of the task's node, and keeps the service's HOST on a node it does not know", () => {
    const script = wrapperScript(
      ['/bin/sh', '-c', 'printf %s "$HOST"'],
      {},
      { node1: '127.0.0.2', node2: '127.0.0.3' },
    );
    const hostOn = (node: string): string =>
      execFileSync('/bin/sh', ['-c', script], {
        env: { CUTOVER_PORT_BASE: '41000', CUTOVER_TASK_SLOT: '1', CUTOVER_NODE_ID: node, HOST: '127.0.0.1' },
        encoding: 'utf8',
      });
    assert.equal(hostOn('node2'), '127.0.0.3');
    assert.equal(hostOn('node1'), '127.0.0.2');
    assert.equal(hostOn('node9'), '127.0.0.1');
    // Node IDs and addresses are quoted words of the case: a pattern or a command cannot be slipped in.
    const hostile = wrapperScript(
      ['/bin/sh', '-c', 'printf %s "$HOST"'],
      {},
      { 'x) HOST=6.6.6.6;; *': '127.0.0.4', '*': "127.0.0.5'; echo pwned; '" },
    );
    const hostileOn = (node: string): string =>
      execFileSync('/bin/sh', ['-c', hostile], {
        env: { CUTOVER_PORT_BASE: '41000', CUTOVER_TASK_SLOT: '1', CUTOVER_NODE_ID: node, HOST: '127.0.0.1' },
        encoding: 'utf8',
      });
    assert.equal(hostileOn('node9'), '127.0.0.1');
    assert.equal(hostileOn('*'), "127.0.0.5'; echo pwned; '");
  });

  it('a rolling strategy becomes UpdateConfig (nanoseconds) and a RollbackConfig', () => {
    const update = updateConfigOf({
      type: 'rolling',
      parallelism: 2,
      order: 'start-first',
      delayMs: 1500,
      monitorMs: 5000,
      failureAction: 'rollback',
      maxFailureRatio: 0.25,
      deployTimeoutMs: 60_000,
      analysis: [],
    } as never);
    assert.deepEqual(update, {
      Parallelism: 2,
      Delay: 1_500_000_000,
      FailureAction: 'rollback',
      Monitor: 5_000_000_000,
      MaxFailureRatio: 0.25,
      Order: 'start-first',
    });
    const { spec } = planSwarmService({
      release,
      settings,
      swarm: { placement: [] },
      owner: 'abc',
      host: '127.0.0.1',
      portBase: 41000,
      replicas: 2,
      imageCommand: ['x'],
      update,
    });
    assert.deepEqual(spec.RollbackConfig, {
      Parallelism: 2,
      Delay: 0,
      FailureAction: 'pause',
      Monitor: 5_000_000_000,
      MaxFailureRatio: 0.25,
      Order: 'start-first',
    });
  });
});
