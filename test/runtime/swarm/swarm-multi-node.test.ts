import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { SteadyTraffic, type TrafficSummary } from '../../../examples/demo/steady-traffic.js';
import type { ServiceStatus } from '../../../src/controller/service-status.js';
import { runDoctor } from '../../../src/doctor/doctor-checks.js';
import type { EventRecord, OperationRecord } from '../../../src/store/records.js';
import { startDockerHarness, type DockerHarness } from '../../support/docker-harness.js';
import { loadSampleImage } from '../../support/docker-test-image.js';
import { operate, sleep } from '../../support/operations.js';
import { nodeState, startSwarmCluster, type SwarmCluster } from '../../support/swarm-cluster.js';

// runtime: swarm on a real two-node Swarm on this machine (swarm-cluster.ts):
// a manager advertising 127.0.0.2 and a worker advertising 127.0.0.3, each
// node's tasks bound to its own address only. With no placement constraint
// Swarm spreads a service's two replicas over the two nodes, so every
// release below has a task on each. Blue-green and Swarm's rolling update at
// 200 req/s lose nothing; draining the worker during an update loses
// nothing; stopping the worker's daemon under traffic takes its task out of
// the rotation and the task Swarm reschedules on the manager joins it.
const HEALTH_INTERVAL_MS = 200;
const RATE = 200;

let cluster: SwarmCluster;
let h: DockerHarness;

/** No placement: Swarm spreads the replicas. No image HEALTHCHECK: it would dial 127.0.0.1, where no task listens. */
const service = (name: string, strategy: string, more = ''): { name: string; body: string } => ({
  name,
  body: `${more}hosts: [${name}.localhost]
runtime: swarm
image: cutover-sample:\${VERSION}
pull: never
instances: 2
health: { path: /health, interval: ${HEALTH_INTERVAL_MS}ms, timeout: 1s, unhealthy_threshold: 2, start_period: 5s }
stop_grace_period: 3s
drain_timeout: 2s
strategy: ${strategy}`,
});

before(async () => {
  cluster = await startSwarmCluster(1);
  // No registry here: each node's daemon gets the images itself.
  for (const node of cluster.nodes)
    await loadSampleImage(node.daemon, [{ tag: 'v1' }, { tag: 'v2' }, { tag: 'v3' }, { tag: 'v4-crash' }]);
  h = await startDockerHarness(
    cluster.manager.daemon,
    [
      service('web', '{ type: blue-green, auto_switch: true, timeout: 60s, scale_down_delay: 0s }'),
      service(
        'api',
        '{ type: rolling, parallelism: 1, order: start-first, monitor: 2s, failure_action: rollback, timeout: 90s }',
      ),
      service('jobs', '{ type: blue-green, auto_switch: true, timeout: 60s }', 'placement: [node.role==worker]\n'),
    ],
    '',
    cluster.serverYaml(),
  );
  for (const name of ['web', 'api']) {
    const done = await operate(h.client, `/api/v1/services/${name}/deploy`, { version: 'v1' });
    assert.equal(done.operation.outcome, 'succeeded', `${name}: ${JSON.stringify(done.operation.error)}`);
  }
});
after(async () => {
  await h?.close();
  await cluster?.stop();
});

const status = (name: string): Promise<ServiceStatus> =>
  h.client.request<ServiceStatus>('GET', `/api/v1/services/${name}`);

const addressOfNode = (nodeId: string): string => cluster.nodes.find((n) => n.nodeId === nodeId)?.address ?? '?';

/** The running tasks of a service's releases as [node address, port]: where Swarm says they run. */
async function runningTasks(name: string): Promise<{ address: string; port: number; id: string; nodeId: string }[]> {
  const services = await cluster.manager.daemon.docker.listServices({
    filters: { label: [`cutover.service=${name}`] },
  });
  const rows: { address: string; port: number; id: string; nodeId: string }[] = [];
  for (const s of services) {
    const tasks = (await cluster.manager.daemon.docker.listTasks({ filters: { service: [s.ID] } })) as {
      ID: string;
      NodeID?: string;
      Slot?: number;
      DesiredState?: string;
      Status?: { State?: string };
      Spec?: { ContainerSpec?: { Env?: string[] } };
    }[];
    for (const task of tasks) {
      if (task.Status?.State !== 'running' || task.DesiredState !== 'running') continue;
      const base = Number(
        (task.Spec?.ContainerSpec?.Env ?? []).find((e) => e.startsWith('CUTOVER_PORT_BASE='))?.split('=')[1],
      );
      rows.push({
        address: addressOfNode(task.NodeID ?? ''),
        port: base + (task.Slot ?? 1) - 1,
        id: task.ID,
        nodeId: task.NodeID ?? '',
      });
    }
  }
  return rows;
}

function connects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** The active release's instances as "address:port", sorted. */
const activeEndpoints = (s: ServiceStatus): string[] =>
  (s.active?.instances ?? []).map((i) => `${i.host}:${i.port}`).sort();

async function underTraffic(host: string, work: (traffic: SteadyTraffic) => Promise<void>): Promise<TrafficSummary> {
  const traffic = new SteadyTraffic({
    url: h.proxyUrl,
    host,
    ratePerSecond: RATE,
    connections: 8,
    maxDurationMs: 180_000,
  }).start();
  try {
    await traffic.waitForAnswers(100);
    await work(traffic);
    await traffic.waitForAnswers(100);
  } catch (error) {
    await traffic.stop();
    throw error;
  }
  return traffic.stop();
}

describe('runtime: swarm on two nodes', () => {
  it('places a release on both nodes, and each task listens on its own node address only, where cutover dials it', async () => {
    const tasks = await runningTasks('web');
    assert.deepEqual(
      tasks.map((t) => t.address).sort(),
      ['127.0.0.2', '127.0.0.3'],
      'one task on each node (Swarm spreads)',
    );
    const s = await status('web');
    assert.deepEqual(activeEndpoints(s), tasks.map((t) => `${t.address}:${t.port}`).sort());
    assert.equal(s.active?.running, '2/2');
    for (const task of tasks) {
      const other = task.address === '127.0.0.2' ? '127.0.0.3' : '127.0.0.2';
      assert.equal(await connects(task.address, task.port), true, `${task.address}:${task.port} answers`);
      assert.equal(await connects(other, task.port), false, `the task is not at the other node's ${other}`);
    }
    // cutover doctor shows the nodes and where their tasks are dialled.
    const nodes = (await runDoctor({ configFile: h.configFile, env: {} })).find((r) => r.id === 'runtime.swarm.nodes');
    assert.equal(nodes?.status, 'ok', nodes?.message);
    for (const node of cluster.nodes)
      assert.match(
        nodes?.message ?? '',
        new RegExp(`${node.nodeId.slice(0, 12)}, ready\\): ${node.address.replace(/\./g, '\\.')} \\(node_addresses\\)`),
      );
    // The worker's task output, gathered by the manager through the Swarm logs API.
    const logs = await request(`${h.server.adminUrl}/api/v1/services/web/logs`, {
      headers: { authorization: `Bearer ${h.server.token}` },
    });
    const text = await logs.body.text();
    assert.match(text, /sample-app v1 instance \d listening on 127\.0\.0\.3:\d+/);
    assert.match(text, /sample-app v1 instance \d listening on 127\.0\.0\.2:\d+/);
  });

  it("a version that crashes on the worker fails its deploy with the task's exit code and last lines, read from the worker", async (t) => {
    const done = await operate(h.client, '/api/v1/services/jobs/deploy', { version: 'v4-crash' });
    assert.equal(done.operation.outcome, 'failed');
    // Which of the two depends on whether Swarm saw the task running before it crashed; both read the worker's output.
    assert.ok(
      ['INSTANCE_EXITED', 'INSTANCE_START_FAILED'].includes(done.operation.error?.code ?? ''),
      JSON.stringify(done.operation.error),
    );
    t.diagnostic(`cutover said: ${done.operation.error?.message ?? ''}`);
    assert.match(done.operation.error?.message ?? '', /(exited with code 1|exit code 1)/);
    assert.match(done.operation.error?.message ?? '', /last log lines:\n(.*\n)*.*simulated crash at start/);
  });

  it(`blue-green at ${RATE} req/s across both nodes: 0 failed`, async (t) => {
    const summary = await underTraffic('web.localhost', async () => {
      const done = await operate(h.client, '/api/v1/services/web/deploy', { version: 'v2' });
      assert.equal(done.operation.outcome, 'succeeded', JSON.stringify(done.operation.error));
    });
    t.diagnostic(`blue-green: ${summary.sent} sent, ${summary.failed} failed, ${JSON.stringify(summary.byVersion)}`);
    assert.equal(summary.failed, 0, summary.firstErrors.slice(0, 3).join(' | '));
    assert.ok((summary.byVersion.v2 ?? 0) > 50, JSON.stringify(summary.byVersion));
    const s = await status('web');
    assert.equal(s.active?.version, 'v2');
    assert.deepEqual(new Set(s.active?.instances.map((i) => i.host)), new Set(['127.0.0.2', '127.0.0.3']));
    // Both daemons share this machine's hostname: status tells the nodes apart by their IDs.
    const nodeOf = new Map(cluster.nodes.map((n) => [n.address, n.nodeId.slice(0, 12)]));
    for (const i of s.active?.instances ?? [])
      assert.match(i.node ?? '', new RegExp(`\\(${nodeOf.get(i.host)}\\)$`), `${i.id} names its node: ${i.node}`);
  });

  it(`Swarm's rolling update at ${RATE} req/s from tasks on both nodes: 0 failed`, async (t) => {
    assert.deepEqual((await runningTasks('api')).map((task) => task.address).sort(), ['127.0.0.2', '127.0.0.3']);
    const summary = await underTraffic('api.localhost', async () => {
      const done = await operate(h.client, '/api/v1/services/api/deploy', { version: 'v2' });
      assert.equal(done.operation.outcome, 'succeeded', JSON.stringify(done.operation.error));
    });
    t.diagnostic(`rolling: ${summary.sent} sent, ${summary.failed} failed, ${JSON.stringify(summary.byVersion)}`);
    assert.equal(summary.failed, 0, summary.firstErrors.slice(0, 3).join(' | '));
    const s = await status('api');
    assert.equal(s.active?.version, 'v2');
    // Swarm picks the nodes of the new tasks (start-first: often both beside the old ones); cutover dials them there.
    const tasks = await runningTasks('api');
    t.diagnostic(`rolling: the v2 tasks run on ${tasks.map((task) => task.address).join(', ')}`);
    assert.deepEqual(activeEndpoints(s), tasks.map((task) => `${task.address}:${task.port}`).sort());
  });

  it('the worker drained during a blue-green deploy: 0 failed, and every task ends on the manager', async (t) => {
    const worker = cluster.workers[0]!;
    try {
      const summary = await underTraffic('web.localhost', async () => {
        const { operation } = await h.client.request<{ operation: OperationRecord }>(
          'POST',
          '/api/v1/services/web/deploy',
          { version: 'v3', actor: 'test' },
        );
        const answer = (): Promise<{ operation: OperationRecord; events: EventRecord[] }> =>
          h.client.request('GET', `/api/v1/operations/${operation.id}`);
        // Drained while green starts: its task on the worker and blue's are moved by Swarm mid-deploy.
        for (let i = 0; i < 300 && (await runningTasks('web')).length < 3; i++) await sleep(50);
        await cluster.manager.daemon.cli(['node', 'update', '--availability', 'drain', worker.nodeId]);
        let done = await answer();
        for (let i = 0; i < 1_800 && done.operation.outcome === null; i++) {
          await sleep(100);
          done = await answer();
        }
        assert.equal(done.operation.outcome, 'succeeded', JSON.stringify(done.operation.error));
        // Swarm may still be moving the drained tasks: under the same traffic, until both serve from the manager.
        for (let i = 0; i < 600; i++) {
          const s = await status('web');
          if (s.active?.running === '2/2' && s.active.instances.every((x) => x.host === cluster.manager.address)) break;
          await sleep(100);
        }
      });
      t.diagnostic(`drain: ${summary.sent} sent, ${summary.failed} failed, ${JSON.stringify(summary.byVersion)}`);
      assert.equal(summary.failed, 0, summary.firstErrors.slice(0, 3).join(' | '));
      const s = await status('web');
      assert.equal(s.active?.version, 'v3');
      assert.deepEqual(
        s.active?.instances.map((i) => i.host),
        ['127.0.0.2', '127.0.0.2'],
      );
      const tasks = (await runningTasks('web')).filter((task) =>
        activeEndpoints(s).includes(`${task.address}:${task.port}`),
      );
      assert.equal(tasks.length, 2, 'the active instances are the tasks Swarm runs');
    } finally {
      await cluster.manager.daemon.cli(['node', 'update', '--availability', 'active', worker.nodeId]);
    }
  });

  it("the worker's daemon stopped under traffic: its task leaves the rotation, the one Swarm reschedules joins it", async (t) => {
    // A new blue-green release: a new service, spread over both nodes again (the drain above moved everything).
    const v2 = await operate(h.client, '/api/v1/services/web/deploy', { version: 'v2' });
    assert.equal(v2.operation.outcome, 'succeeded', JSON.stringify(v2.operation.error));
    const worker = cluster.workers[0]!;
    const before = activeEndpoints(await status('web'));
    assert.equal(before.filter((endpoint) => endpoint.startsWith(`${worker.address}:`)).length, 1, before.join(', '));

    let stoppedAt = 0;
    let goneAt = 0;
    let outOfRotationAt = 0;
    let allOnManagerAt = 0;
    let failedWhenGone = 0;
    let routedToGoneTask = false;
    const summary = await underTraffic('web.localhost', async (traffic) => {
      stoppedAt = Date.now();
      await worker.daemon.kill();
      const deadline = Date.now() + 90_000;
      while (Date.now() < deadline && (!allOnManagerAt || !goneAt)) {
        const s = await status('web');
        const workerInRotation = (s.active?.instances ?? []).some(
          (i) => i.host === worker.address && i.health === 'healthy',
        );
        if (!workerInRotation) outOfRotationAt ||= Date.now();
        if (!goneAt && (await nodeState(cluster.manager.daemon, worker.nodeId)) === 'down') {
          goneAt = Date.now();
          failedWhenGone = traffic.summary.failed;
        }
        // One health interval after Swarm reports the task's node gone, nothing may route to it.
        if (goneAt && Date.now() - goneAt > HEALTH_INTERVAL_MS && workerInRotation) routedToGoneTask = true;
        const healthy = (s.active?.instances ?? []).filter((i) => i.health === 'healthy');
        if (!allOnManagerAt && healthy.length === 2 && healthy.every((i) => i.host === cluster.manager.address))
          allOnManagerAt = Date.now();
        await sleep(50);
      }
      assert.ok(goneAt > 0, 'Swarm reports the worker down');
      assert.ok(allOnManagerAt > 0, 'two healthy tasks on the manager within 90 s');
    });
    const report =
      `worker daemon stopped at ${RATE} req/s: ${summary.failed} failed of ${summary.sent}; ` +
      `out of rotation after ${outOfRotationAt - stoppedAt} ms; Swarm reported the node down after ${goneAt - stoppedAt} ms; ` +
      `all traffic on the manager's two tasks after ${allOnManagerAt - stoppedAt} ms`;
    t.diagnostic(report);
    assert.equal(routedToGoneTask, false, 'a task whose node Swarm reports down stayed in the rotation');
    assert.equal(summary.failed, failedWhenGone, `no failure after Swarm reported the node down: ${report}`);
    const s = await status('web');
    assert.deepEqual(activeEndpoints(s), (await runningTasks('web')).map((t) => `${t.address}:${t.port}`).sort());
  });
});
