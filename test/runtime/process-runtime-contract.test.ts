import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { InstanceSpec } from '../../src/runtime/index.js';
import { ProcessRuntime } from '../../src/runtime/process/process-runtime.js';
import { SAMPLE_APP } from '../support/cutover-harness.js';
import { httpHealthProbe, runtimeContract } from './runtime-contract.js';

// The Runtime contract on local process groups: the sample app on free
// loopback ports, a runtime made anew over the same log directory for a
// controller restart (the instances are detached, so they outlive it).
const logDir = mkdtempSync(path.join(os.tmpdir(), 'cutover-process-contract-'));
let blocker: net.Server;

const spec = (releaseId: string, index: number, overrides: Partial<InstanceSpec> = {}): InstanceSpec => ({
  service: 'web', releaseId, version: 'v1', slot: 'blue', index,
  command: 'node server.js', cwd: SAMPLE_APP, env: { APP_VERSION: '${VERSION}' }, stopGracePeriodMs: 5_000,
  ...overrides,
});

runtimeContract({
  name: 'process',
  async setup() {
    // Another program holds this port; the conflicting version hard-codes it (see examples/sample-app, *portNNNN*).
    blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const blockedPort = (blocker.address() as net.AddressInfo).port;
    return {
      newRuntime: () => new ProcessRuntime({ logDir, adoptedPollMs: 100 }),
      goodSpec: (releaseId, index) => spec(releaseId, index),
      failingSpec: (releaseId, index) => spec(releaseId, index, { command: 'cutover-contract-no-such-program' }),
      conflictSpec: (releaseId, index) => spec(releaseId, index, { version: `v6-port${blockedPort}` }),
      blockedPort,
      probe: (_runtime, info) => httpHealthProbe(info),
      crash: async (_runtime, info) => {
        process.kill(info.pid as number, 'SIGKILL');
      },
    };
  },
  async teardown() {
    await new Promise((resolve) => blocker?.close(resolve));
    rmSync(logDir, { recursive: true, force: true });
  },
});
