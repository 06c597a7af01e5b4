import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import Docker from 'dockerode';
import type { Runtime } from '../../src/runtime/index.js';
import { ProcessRuntime } from '../../src/runtime/process/process-runtime.js';
import { RuntimeByService } from '../../src/runtime/runtime-by-service.js';
import { SwarmRuntime } from '../../src/runtime/swarm/swarm-runtime.js';

/**
 * health.restart_after (issue 12, finding 7) restarts a live but unhealthy
 * instance through the Runtime port. On Swarm that stop is a service update,
 * and during Swarm's own rolling update it superseded the update, which then
 * never finished. Swarm replaces unhealthy tasks itself (HEALTHCHECK and
 * restart policy), so the supervisor asks the port and leaves liveness to it;
 * the process runtime has no one else to do it.
 */
describe('liveness restarts are left to an orchestrator that replaces unhealthy instances itself', () => {
  const logDir = mkdtempSync(path.join(tmpdir(), 'cutover-liveness-'));
  after(() => rmSync(logDir, { recursive: true, force: true }));
  // Neither runtime talks to anything until an instance starts: the socket below is never dialled.
  const processRuntime = new ProcessRuntime({ logDir });
  const swarmRuntime = new SwarmRuntime({
    docker: new Docker({ socketPath: path.join(logDir, 'no-daemon.sock') }),
    daemonHost: 'unix://nowhere',
    owner: 'test',
    serviceFor: () => undefined,
    logDir,
  });
  const runtime = new RuntimeByService(
    new Map<string, Runtime>([
      ['web', processRuntime],
      ['api', swarmRuntime],
    ]),
    processRuntime,
  );

  it('Swarm says it replaces its unhealthy tasks; the process runtime does not', () => {
    assert.equal(swarmRuntime.replacesUnhealthyInstances(), true);
    assert.equal('replacesUnhealthyInstances' in processRuntime, false);
  });

  it('the runtime the controller holds answers per instance, by its service', () => {
    assert.equal(runtime.replacesUnhealthyInstances('api/api-3/blue-0'), true);
    assert.equal(runtime.replacesUnhealthyInstances('web/web-2/green-1'), false);
    assert.equal(
      runtime.replacesUnhealthyInstances('gone/gone-1/blue-0'),
      false,
      'a service no longer configured falls back to the process runtime',
    );
  });
});
