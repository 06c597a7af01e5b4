import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import type { DockerServiceConfig } from '../../../src/config/types.js';
import { CutoverError } from '../../../src/core/errors.js';
import { dockerClient } from '../../../src/runtime/docker/docker-client.js';
import { DockerRuntime } from '../../../src/runtime/docker/docker-runtime.js';
import type { InstanceExit, InstanceInfo, InstanceSpec } from '../../../src/runtime/index.js';
import { findFreePort } from '../../../src/runtime/process/free-port.js';
import { startDockerDaemon, type DockerDaemon } from '../../support/docker-daemon.js';
import { loadSampleImage, SAMPLE_IMAGE } from '../../support/docker-test-image.js';
import { dockerRuntimeContract } from './docker-contract.js';

// The docker runtime against a real daemon: containers of the sample image
// on loopback ports, found again by their labels by a second runtime (a
// restarted controller), and clear errors for an image that cannot be had
// and a daemon that cannot be reached. The Runtime contract runs on the
// same daemon at the end of the file.
let daemon: DockerDaemon;

before(async () => {
  daemon = await startDockerDaemon();
});
after(async () => {
  await daemon?.stop();
});

describe('the docker runtime', () => {
  let logDir: string;
  const runtimes: DockerRuntime[] = [];
  const settings: Record<string, DockerServiceConfig> = {};
  const service = (name: string, overrides: Partial<DockerServiceConfig> = {}): string => {
    settings[name] = {
      image: `${SAMPLE_IMAGE}:\${VERSION}`,
      pull: 'never',
      network: 'host',
      containerPort: null,
      cpus: null,
      memoryBytes: null,
      labels: {},
      ...overrides,
    };
    return name;
  };
  const newRuntime = (owner = 'test-owner', docker = daemon.docker, daemonHost = daemon.host): DockerRuntime => {
    const runtime = new DockerRuntime({
      docker,
      daemonHost,
      owner,
      settingsFor: (name) => settings[name],
      logDir,
      defaultStopGracePeriodMs: 3_000,
    });
    runtimes.push(runtime);
    return runtime;
  };
  const spec = (name: string, version: string, index = 0, extra: Partial<InstanceSpec> = {}): InstanceSpec => ({
    service: name,
    releaseId: `${name}-1`,
    version,
    slot: 'blue',
    index,
    command: '',
    cwd: '',
    env: {},
    stopGracePeriodMs: 3_000,
    ...extra,
  });
  const exitsOf = (runtime: DockerRuntime): InstanceExit[] => {
    const exits: InstanceExit[] = [];
    runtime.onExit((exit) => exits.push(exit));
    return exits;
  };

  before(async () => {
    await loadSampleImage(daemon, [{ tag: 'v1' }, { tag: 'v1-crash' }, { tag: 'v1-checked', healthcheck: true }]);
    logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-docker-logs-'));
  });
  after(async () => {
    for (const runtime of runtimes) await runtime.close().catch(() => {});
    if (logDir) fs.rmSync(logDir, { recursive: true, force: true });
  });

  it('runs an instance as a labelled container on a free loopback port, copies its output to the log, and stops and removes it', async () => {
    const runtime = newRuntime();
    const exits = exitsOf(runtime);
    const name = service('web', { cpus: 0.5, memoryBytes: 256 * 1024 * 1024, labels: { team: 'payments' } });
    const info = await runtime.start(spec(name, 'v1'));
    assert.equal(info.host, '127.0.0.1');
    assert.ok(info.pid !== null && info.pid > 0, 'the container process is known by its host pid');
    const answer = await waitForAnswer(info.port);
    assert.equal(answer.version, 'v1', 'the image answers with its version');

    const inspected = await daemon.docker.getContainer(info.pidToken!).inspect();
    assert.deepEqual(
      pick(inspected.Config.Labels, [
        'cutover.service',
        'cutover.release',
        'cutover.slot',
        'cutover.instance',
        'cutover.owner',
        'team',
      ]),
      {
        'cutover.service': 'web',
        'cutover.release': 'web-1',
        'cutover.slot': 'blue',
        'cutover.instance': '0',
        'cutover.owner': 'test-owner',
        team: 'payments',
      },
    );
    assert.equal(inspected.HostConfig.NetworkMode, 'host');
    assert.equal(inspected.HostConfig.NanoCpus, 500_000_000);
    assert.equal(inspected.HostConfig.Memory, 256 * 1024 * 1024);
    assert.ok(inspected.Config.Env.includes(`PORT=${info.port}`));
    assert.deepEqual(
      runtime.list().map((i) => i.id),
      ['web/web-1/blue-0'],
    );

    await waitFor(
      () =>
        fs.existsSync(info.logPath) &&
        fs.readFileSync(info.logPath, 'utf8').includes(`listening on 127.0.0.1:${info.port}`),
      'the app output in the instance log',
    );
    assert.match(await runtime.tailLog(info.id, 5), /sample-app v1 instance 0 listening/);

    await runtime.stop(info.id);
    assert.equal(exits.length, 1);
    assert.equal(exits[0]?.expected, true);
    assert.equal(exits[0]?.code, 0, 'SIGTERM reached the app, which shut down cleanly');
    await assert.rejects(
      daemon.docker.getContainer(info.pidToken!).inspect(),
      /no such container/i,
      'the stopped container is removed',
    );
    assert.deepEqual(runtime.list(), []);
  });

  it('runs the configured command instead of the image CMD, with the placeholders filled in command and env', async () => {
    const runtime = newRuntime();
    const name = service('cmd');
    const info = await runtime.start(
      spec(name, 'v1', 2, {
        command: '/usr/bin/node /app/server.js --slot ${SLOT}',
        env: { APP_VERSION: 'from-${SLOT}-${INSTANCE}' },
      }),
    );
    const answer = await waitForAnswer(info.port);
    assert.deepEqual([answer.version, answer.instance], ['from-blue-2', '2']);
    const inspected = await daemon.docker.getContainer(info.pidToken!).inspect();
    assert.deepEqual(inspected.Config.Cmd, ['/usr/bin/node', '/app/server.js', '--slot', 'blue']);
    await runtime.stop(info.id);
  });

  it('an app that ignores SIGTERM is killed when the grace period ends', async () => {
    const runtime = newRuntime();
    const exits = exitsOf(runtime);
    const name = service('stubborn');
    const info = await runtime.start(
      spec(name, 'v1', 0, {
        command: `/usr/bin/node -e "process.on('SIGTERM', () => console.log('ignoring SIGTERM')); console.log('up'); setInterval(() => {}, 1000)"`,
        stopGracePeriodMs: 1_000,
      }),
    );
    await waitFor(
      () => fs.existsSync(info.logPath) && fs.readFileSync(info.logPath, 'utf8').includes('up'),
      'the app to start',
    );
    const stoppingAt = Date.now();
    await runtime.stop(info.id);
    const took = Date.now() - stoppingAt;
    assert.ok(took >= 900 && took < 8_000, `stopped after ${took} ms with a 1 s grace period`);
    assert.equal(exits[0]?.signal, 'SIGKILL');
    assert.equal(exits[0]?.expected, true);
    assert.match(
      fs.readFileSync(info.logPath, 'utf8'),
      /ignoring SIGTERM/,
      'SIGTERM reached the app first (through the container init)',
    );
  });

  it('reports a container that crashes as an unexpected exit with its code and last output, and removes it', async () => {
    const runtime = newRuntime();
    const exits = exitsOf(runtime);
    const name = service('crashy');
    const info = await runtime.start(spec(name, 'v1-crash'));
    await waitFor(() => exits.length === 1, 'the exit event');
    assert.equal(exits[0]?.expected, false);
    assert.equal(exits[0]?.code, 1);
    assert.equal(exits[0]?.instance.id, info.id);
    assert.match(await runtime.tailLog(info.id, 5), /simulated crash at start/);
    await assert.rejects(daemon.docker.getContainer(info.pidToken!).inspect(), /no such container/i);
    assert.deepEqual(runtime.list(), []);
  });

  it('a second runtime (a restarted controller) adopts the recorded containers by label and removes the ones no record names', async () => {
    const first = newRuntime('restart-owner');
    const name = service('adopt');
    const kept = await first.start(spec(name, 'v1', 0));
    const stray = await first.start(spec(name, 'v1', 1));
    await waitForAnswer(kept.port);
    const gone: InstanceInfo = { ...kept, id: 'adopt/adopt-1/blue-5', index: 5, pidToken: 'f'.repeat(64) };
    // Another state directory's container on the same daemon must be left alone.
    const neighbour = newRuntime('other-owner');
    const theirs = await neighbour.start(spec(name, 'v1', 0));

    const second = newRuntime('restart-owner');
    const exits = exitsOf(second);
    const adopted = await second.adopt([kept, gone]);
    assert.deepEqual(
      adopted.map((i) => [i.id, i.port, i.pidToken]),
      [[kept.id, kept.port, kept.pidToken]],
    );
    assert.equal((await getJson(kept.port, '/')).version, 'v1', 'the adopted container kept serving');
    await assert.rejects(
      daemon.docker.getContainer(stray.pidToken!).inspect(),
      /no such container/i,
      'the unrecorded container was removed',
    );
    assert.equal(
      (await daemon.docker.getContainer(theirs.pidToken!).inspect()).State.Running,
      true,
      "another owner's container is untouched",
    );

    await second.stop(kept.id);
    assert.equal(exits.at(-1)?.expected, true);
    await assert.rejects(daemon.docker.getContainer(kept.pidToken!).inspect(), /no such container/i);
    await neighbour.stop(theirs.id);
  });

  it("reads the container's own Docker HEALTHCHECK status when the image has one (null when it has none)", async () => {
    const runtime = newRuntime();
    const name = service('checked');
    const checked = await runtime.start(spec(name, 'v1-checked'));
    const plain = await runtime.start(spec(name, 'v1', 1));
    assert.ok(['starting', 'healthy'].includes(String(await runtime.containerHealth(checked.id))));
    await waitFor(
      async () => (await runtime.containerHealth(checked.id)) === 'healthy',
      'the HEALTHCHECK to pass',
      15_000,
    );
    assert.equal(await runtime.containerHealth(plain.id), null);
    await request(`http://127.0.0.1:${checked.port}/admin/health`, { method: 'POST', body: 'fail' }).then((r) =>
      r.body.dump(),
    );
    await waitFor(
      async () => (await runtime.containerHealth(checked.id)) === 'unhealthy',
      'the HEALTHCHECK to fail',
      15_000,
    );
    await Promise.all([runtime.stop(checked.id), runtime.stop(plain.id)]);
  });

  it('an image that is not on the daemon with pull: never fails with INSTANCE_START_FAILED naming the image and the policy', async () => {
    const runtime = newRuntime();
    const name = service('missing', { image: 'cutover-nothing:${VERSION}', pull: 'never' });
    await assert.rejects(runtime.start(spec(name, 'v9')), (error: unknown) => {
      assert.ok(error instanceof CutoverError);
      assert.equal(error.code, 'INSTANCE_START_FAILED');
      assert.match(
        error.message,
        /image cutover-nothing:v9 is not on the Docker daemon, and the pull policy is "never"/,
      );
      assert.match(error.hint, /pull: if-missing/);
      return true;
    });
    assert.deepEqual(runtime.list(), []);
  });

  it('an image whose registry cannot be reached with pull: if-missing fails naming the image, the policy and the cause', async () => {
    const runtime = newRuntime();
    // A registry on a closed loopback port: the pull fails at once, and no traffic leaves the machine.
    const closedPort = await findFreePort();
    const image = `127.0.0.1:${closedPort}/cutover/app:v9`;
    const name = service('unpullable', { image, pull: 'if-missing' });
    await assert.rejects(runtime.start(spec(name, 'v9')), (error: unknown) => {
      assert.ok(error instanceof CutoverError);
      assert.equal(error.code, 'INSTANCE_START_FAILED');
      assert.ok(error.message.includes(`image ${image} could not be pulled (pull policy "if-missing")`), error.message);
      assert.match(error.message, /connection refused|connect/i);
      return true;
    });
    const leftovers = await daemon.docker.listContainers({
      all: true,
      filters: { label: ['cutover.service=unpullable'] },
    });
    assert.deepEqual(leftovers, []);
  });

  it('an unreachable daemon fails with INSTANCE_START_FAILED naming its address and what to do', async () => {
    const address = `unix://${path.join(logDir, 'no-daemon.sock')}`;
    const runtime = newRuntime('test-owner', dockerClient(address), address);
    const name = service('nodaemon', { pull: 'if-missing' });
    await assert.rejects(runtime.start(spec(name, 'v1')), (error: unknown) => {
      assert.ok(error instanceof CutoverError);
      assert.equal(error.code, 'INSTANCE_START_FAILED');
      assert.ok(error.message.includes(`the Docker daemon at ${address} cannot be reached`), error.message);
      assert.match(error.hint, /server\.docker_host/);
      return true;
    });
    assert.deepEqual(
      await runtime.adopt([]),
      [],
      'adoption without a daemon adopts nothing instead of failing the start',
    );
  });
});

/** The first answer of an instance that was just started (it opens its port a moment after the container starts). */
async function waitForAnswer(port: number): Promise<{ version: string; instance: string; pid: number }> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await getJson(port, '/');
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

async function getJson(port: number, urlPath: string): Promise<{ version: string; instance: string; pid: number }> {
  const response = await request(`http://127.0.0.1:${port}${urlPath}`);
  assert.equal(response.statusCode, 200);
  return (await response.body.json()) as { version: string; instance: string; pid: number };
}

function pick(labels: Record<string, string> | undefined, keys: string[]): Record<string, string | undefined> {
  return Object.fromEntries(keys.map((key) => [key, labels?.[key]]));
}

async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

dockerRuntimeContract(() => daemon);
