import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/clock/manual-clock.js';
import { isCutoverError } from '../../src/core/errors.js';
import { FakeRuntime } from '../../src/runtime/fake/fake-runtime.js';
import type { InstanceExit, InstanceSpec, Runtime } from '../../src/runtime/index.js';
import { runtimeContract } from './runtime-contract.js';

// The FakeRuntime keeps the same promises as the real runtimes, so the
// controller tests built on it prove something about them.
const BLOCKED_PORT = 8080;

const spec = (releaseId: string, index: number, version = 'v1'): InstanceSpec => ({
  service: 'web', releaseId, version, slot: 'blue', index, command: 'node server.js', cwd: '/app', env: {}, stopGracePeriodMs: 5_000,
});

const asFake = (runtime: Runtime): FakeRuntime => {
  if (!(runtime instanceof FakeRuntime)) throw new Error('not a FakeRuntime');
  return runtime;
};

function configured(fake: FakeRuntime): FakeRuntime {
  fake.failingVersions.add('v-missing');
  fake.fixedPorts.set('v-port', BLOCKED_PORT);
  fake.occupyPort(BLOCKED_PORT);
  return fake;
}

runtimeContract({
  name: 'fake',
  setup: () => Promise.resolve({
    newRuntime: (previous) => configured(new FakeRuntime(previous ? { alive: asFake(previous).survivors() } : {})),
    goodSpec: (releaseId, index) => spec(releaseId, index),
    failingSpec: (releaseId, index) => spec(releaseId, index, 'v-missing'),
    conflictSpec: (releaseId, index) => spec(releaseId, index, 'v-port'),
    blockedPort: BLOCKED_PORT,
    probe: (runtime, info) => asFake(runtime).probe(info.id),
    crash: (runtime, info) => {
      asFake(runtime).crash(info.id, 1);
      return Promise.resolve();
    },
  }),
});

// What the fake adds for controller tests: rules set before a deploy, events
// during one, and time that moves only when the test says.
describe('FakeRuntime, beyond the contract', () => {
  const exitsOf = (runtime: Runtime): InstanceExit[] => {
    const exits: InstanceExit[] = [];
    runtime.onExit((exit) => exits.push(exit));
    return exits;
  };

  it('a version in unhealthyVersions starts but never passes its probe; setHealth turns one instance either way', async () => {
    const fake = new FakeRuntime();
    fake.unhealthyVersions.add('v2');
    const good = await fake.start(spec('r1', 0));
    const bad = await fake.start(spec('r2', 0, 'v2'));
    assert.deepEqual([(await fake.probe(good.id)).ok, (await fake.probe(bad.id)).ok], [true, false]);
    assert.match((await fake.probe(bad.id)).detail, /answered 500/);
    assert.equal(fake.setHealth(bad.id, 'healthy'), 1);
    assert.equal(fake.setHealth((info) => info.version === 'v1', 'unhealthy'), 1);
    assert.deepEqual([(await fake.probe(good.id)).ok, (await fake.probe(bad.id)).ok], [false, true]);
  });

  it('a version in failingVersions never starts; one in crashingVersions starts, then exits with code 1 on the clock', async () => {
    const clock = new ManualClock();
    const fake = new FakeRuntime({ clock });
    const exits = exitsOf(fake);
    fake.failingVersions.add('v3');
    fake.crashingVersions.add('v4');
    await assert.rejects(fake.start(spec('r3', 0, 'v3')), (error: unknown) => isCutoverError(error) && error.code === 'INSTANCE_START_FAILED' && /failingVersions/.test(error.message));
    assert.match(await fake.tailLog('web/r3/blue-0', 5), /cannot start web\/r3\/blue-0/);
    const crashing = await fake.start(spec('r4', 0, 'v4'));
    assert.equal(exits.length, 0, 'not inside start()');
    await clock.advance(0);
    assert.deepEqual(exits.map((exit) => [exit.instance.id, exit.code, exit.expected]), [[crashing.id, 1, false]]);
    assert.match(await fake.tailLog(crashing.id, 5), /simulated crash at start/);
    assert.equal(fake.startedSpecs.length, 2);
  });

  it('readyAfterMs: the probe fails until the clock has moved that far since the start', async () => {
    const clock = new ManualClock();
    const fake = new FakeRuntime({ clock, readyAfterMs: 3_000 });
    const info = await fake.start(spec('r1', 0));
    assert.match((await fake.probe(info.id)).detail, /still starting/);
    await clock.advance(2_999);
    assert.equal((await fake.probe(info.id)).ok, false);
    await clock.advance(1);
    assert.equal((await fake.probe(info.id)).ok, true);
  });

  it('exitAfterStopMs: a stop waits on the clock, and past the grace period the instance is killed', async () => {
    const clock = new ManualClock();
    const fake = new FakeRuntime({ clock, exitAfterStopMs: 5_000 });
    const exits = exitsOf(fake);
    const slow = await fake.start({ ...spec('r1', 0), stopGracePeriodMs: 10_000 });
    const stubborn = await fake.start({ ...spec('r1', 1), stopGracePeriodMs: 2_000 });
    let stopped = 0;
    const stops = [fake.stop(slow.id), fake.stop(stubborn.id)].map((stop) => stop.then(() => stopped++));
    await clock.advance(1_999);
    assert.equal(stopped, 0);
    await clock.advance(1);
    assert.deepEqual(exits.map((exit) => [exit.instance.id, exit.code, exit.signal, exit.expected]), [[stubborn.id, null, 'SIGKILL', true]]);
    await clock.advance(3_000);
    await Promise.all(stops);
    assert.deepEqual(exits.map((exit) => [exit.instance.id, exit.code, exit.signal]).at(-1), [slow.id, 0, null]);
  });

  it('ports are unique among live instances, survivors included, and a held port is never handed out', async () => {
    const fake = new FakeRuntime({ firstPort: 41_000 });
    fake.occupyPort(41_001);
    const ports = [];
    for (let index = 0; index < 3; index++) ports.push((await fake.start(spec('r1', index))).port);
    assert.deepEqual(ports, [41_000, 41_002, 41_003]);
    const restarted = new FakeRuntime({ firstPort: 41_000, alive: fake.survivors() });
    assert.equal((await restarted.start(spec('r2', 0))).port, 41_004, 'not a port a survivor holds');
  });

  it('a hard-coded port that is free is where the app listens: it runs, but its probe on $PORT is refused', async () => {
    const fake = new FakeRuntime();
    fake.fixedPorts.set('v2', 9_000);
    const info = await fake.start(spec('r1', 0, 'v2'));
    assert.match((await fake.probe(info.id)).detail, /ECONNREFUSED/);
    assert.match(await fake.tailLog(info.id, 1), /listening on 127\.0\.0\.1:9000/);
  });

  it('survivors carry their log and health to the restarted runtime; unadopted ones stay alive for the next restart', async () => {
    const fake = new FakeRuntime();
    const [a, b] = [await fake.start(spec('r1', 0)), await fake.start(spec('r1', 1))];
    fake.write(a.id, 'served 10 requests');
    fake.setHealth(a.id, 'unhealthy');
    const restarted = new FakeRuntime({ alive: fake.survivors() });
    assert.deepEqual((await restarted.adopt([a])).map((info) => info.id), [a.id]);
    assert.match(await restarted.tailLog(a.id, 1), /served 10 requests/);
    assert.equal((await restarted.probe(a.id)).ok, false, 'still unhealthy');
    assert.deepEqual(restarted.survivors().map((survivor) => survivor.id).sort(), [a.id, b.id].sort());
    assert.throws(() => restarted.crash(b.id), /not running/, 'an orphan is not managed until adopted');
  });
});
