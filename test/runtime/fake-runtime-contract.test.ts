import { FakeRuntime } from '../../src/runtime/fake/fake-runtime.js';
import type { InstanceSpec, Runtime } from '../../src/runtime/index.js';
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
