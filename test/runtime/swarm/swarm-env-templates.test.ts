import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../../../src/config/load-config.js';
import type { InstanceSpec } from '../../../src/runtime/index.js';
import { SwarmRuntime } from '../../../src/runtime/swarm/swarm-runtime.js';
import type { DockerDaemon } from '../../support/docker-daemon.js';
import { dockerConfigYaml } from '../../support/docker-harness.js';
import { loadSampleImage } from '../../support/docker-test-image.js';
import { startSwarmDaemon, swarmService } from '../../support/swarm-daemon.js';

// Swarm reads a service's Env as Go templates ({{.Node.ID}} and the like),
// which cutover uses for its own per-task values. An app's env (and the
// values of its env files: a generated password, a mustache greeting) must
// reach the task as written, on a real single-node swarm (loopback only).
let daemon: DockerDaemon;
let dir: string;

before(async () => {
  daemon = await startSwarmDaemon();
  await loadSampleImage(daemon, [{ tag: 't1' }]);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-swarm-env-'));
});
after(async () => {
  await daemon?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('env values with Go template braces on runtime: swarm', () => {
  it('reach the task as written, neither expanded nor refused', async () => {
    const config = parseConfig(
      dockerConfigYaml(daemon, dir, { proxy: 1, admin: 2 }, [swarmService('tmpl', 'instances: 1')]),
      null,
    );
    const runtime = new SwarmRuntime({
      docker: daemon.docker,
      daemonHost: daemon.host,
      owner: 'env-templates',
      serviceFor: (name) => config.services[name],
      logDir: path.join(dir, 'logs'),
      defaultStopGracePeriodMs: 3_000,
    });
    const env = {
      // Would be the service's name if Swarm expanded it.
      EXPANDED: 'hello {{.Service.Name}}',
      // Not a template Go can parse: Swarm would reject the task.
      PASSWORD: 'p{{w}}d {{ {{-',
      TRIM: '{{- "x" -}}',
    };
    const spec: InstanceSpec = {
      service: 'tmpl',
      releaseId: 'r1',
      version: 't1',
      slot: 'blue',
      index: 0,
      command: '',
      cwd: '',
      env,
      stopGracePeriodMs: 3_000,
    };
    const info = await runtime.start(spec);
    try {
      const inspected = await daemon.docker.getContainer(info.pidToken as string).inspect();
      const seen = Object.fromEntries(
        (inspected.Config.Env ?? [])
          .map((line): [string, string] => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)])
          .filter(([name]) => name in env),
      );
      assert.deepEqual(seen, env);
    } finally {
      await runtime.stop(info.id);
    }
  });
});
