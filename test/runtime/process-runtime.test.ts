import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isCutoverError } from '../../src/core/errors.js';
import type { InstanceExit, InstanceInfo, InstanceSpec } from '../../src/runtime/index.js';
import { killAllInstanceGroupsSync, ProcessRuntime } from '../../src/runtime/process/process-runtime.js';
import { isProcessAlive } from '../../src/runtime/process/process-identity.js';

const sampleApp = fileURLToPath(new URL('../../../examples/sample-app/server.js', import.meta.url));
const runtimeModule = new URL('../../src/runtime/process/process-runtime.js', import.meta.url).href;
const logDir = mkdtempSync(path.join(os.tmpdir(), 'cutover-runtime-'));

/** Every pid a test saw, so after() can kill whatever a failed assertion left behind. */
const seenPids = new Set<number>();
const runtimes: ProcessRuntime[] = [];

function newRuntime(): ProcessRuntime {
  const runtime = new ProcessRuntime({ logDir, adoptedPollMs: 100 });
  runtimes.push(runtime);
  return runtime;
}

let nextIndex = 0;
function spec(overrides: Partial<InstanceSpec> = {}): InstanceSpec {
  return {
    service: 'web',
    releaseId: 'r1',
    version: 'v1',
    slot: 'blue',
    index: nextIndex++,
    command: `node ${sampleApp}`,
    cwd: path.dirname(sampleApp),
    env: { APP_VERSION: '${VERSION}' },
    stopGracePeriodMs: 5000,
    ...overrides,
  };
}

function remember(info: InstanceInfo): InstanceInfo {
  if (info.pid !== null) seenPids.add(info.pid);
  return info;
}

async function waitFor<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function getJson(info: InstanceInfo): Promise<{ version: string; instance: string; pid: number } | undefined> {
  try {
    const response = await fetch(`http://${info.host}:${info.port}/`, { headers: { connection: 'close' } });
    return (await response.json()) as { version: string; instance: string; pid: number };
  } catch {
    return undefined;
  }
}

function exitsOf(runtime: ProcessRuntime): InstanceExit[] {
  const exits: InstanceExit[] = [];
  runtime.onExit((exit) => exits.push(exit));
  return exits;
}

/** A node one-liner that logs a line once it is ready, then idles. */
function nodeScript(source: string): string {
  return `node -e "${source.replaceAll('"', '\\"')}"`;
}

after(async () => {
  await Promise.all(runtimes.map((runtime) => runtime.close()));
  for (const pid of seenPids) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone, as it should be
    }
  }
  rmSync(logDir, { recursive: true, force: true });
});

describe('process runtime', () => {
  it('starts the app on a free loopback port, with placeholders and env substituted', async () => {
    const runtime = newRuntime();
    const info = remember(await runtime.start(spec({ version: 'v7', slot: 'green', index: 3 })));
    assert.equal(info.id, 'web/r1/green-3');
    assert.equal(info.host, '127.0.0.1');
    assert.ok(info.port > 0);
    assert.ok(info.pid && info.pid > 0);
    assert.ok(info.pidToken, 'a pid token on Linux');
    assert.equal(info.logPath, path.join(logDir, 'web', 'r1', 'green-3.log'));
    assert.deepEqual(
      runtime.list().map((listed) => listed.id),
      ['web/r1/green-3'],
    );

    const body = await waitFor(() => getJson(info));
    assert.equal(body.version, 'v7', 'APP_VERSION=${VERSION} reached the app');
    assert.equal(body.instance, '3', 'INSTANCE is set');
    assert.equal(body.pid, info.pid, 'exec: the recorded pid is the app itself, not a shell');

    const log = readFileSync(info.logPath, 'utf8');
    assert.match(log, /starting web\/r1\/green-3/);
    assert.match(
      await waitFor(() => runtime.tailLog(info.id, 1).then((line) => line.includes('listening') && line)),
      /sample-app v7 instance 3 listening on 127\.0\.0\.1:\d+/,
    );
    await runtime.stop(info.id);
  });

  it('passes PORT, HOST, VERSION, SLOT, INSTANCE and CUTOVER_INSTANCE_ID, which a shell: true command reads from its env', async () => {
    const runtime = newRuntime();
    const info = remember(
      await runtime.start(
        spec({
          version: 'v2',
          shell: true,
          command: 'echo "args ${VERSION} ${SLOT} ${INSTANCE} ${PORT} ${HOME_UNTOUCHED}"; env | sort; sleep 30',
          env: { GREETING: 'hello ${VERSION} on ${PORT}' },
        }),
      ),
    );
    const log = await waitFor(() => {
      const text = readFileSync(info.logPath, 'utf8');
      return text.includes('VERSION=') && text;
    });
    assert.match(
      log,
      new RegExp(`args v2 blue ${info.index} ${info.port} \\n`),
      '${HOME_UNTOUCHED} is left for the shell (empty)',
    );
    for (const line of [
      `PORT=${info.port}`,
      'HOST=127.0.0.1',
      'VERSION=v2',
      'SLOT=blue',
      `INSTANCE=${info.index}`,
      `CUTOVER_INSTANCE_ID=${info.id}`,
      `GREETING=hello v2 on ${info.port}`,
    ]) {
      assert.ok(log.includes(`\n${line}\n`), `env has ${line}`);
    }
    await runtime.stop(info.id);
  });

  it('stops with SIGTERM: the app shuts down cleanly and the exit is expected', async () => {
    const runtime = newRuntime();
    const exits = exitsOf(runtime);
    const info = remember(await runtime.start(spec()));
    await waitFor(() => getJson(info));
    await runtime.stop(info.id);
    assert.equal(isProcessAlive(info.pid as number), false);
    assert.deepEqual(runtime.list(), []);
    assert.equal(exits.length, 1);
    assert.equal(exits[0]?.expected, true);
    assert.equal(exits[0]?.code, 0, 'the sample app exits 0 on SIGTERM');
    await runtime.stop(info.id); // already gone: resolves at once
    await runtime.stop('web/r1/blue-999'); // unknown: resolves at once
  });

  it('SIGKILLs an app that ignores SIGTERM once the grace period is over', async () => {
    const runtime = newRuntime();
    const exits = exitsOf(runtime);
    const info = remember(
      await runtime.start(
        spec({
          command: nodeScript(
            "process.on('SIGTERM', () => console.log('ignoring SIGTERM')); console.log('ready'); setInterval(() => {}, 1000)",
          ),
        }),
      ),
    );
    await waitFor(() => readFileSync(info.logPath, 'utf8').includes('ready'));
    const started = Date.now();
    await runtime.stop(info.id, 300);
    const took = Date.now() - started;
    assert.ok(took >= 280 && took < 2000, `stopped after the grace period (${took} ms)`);
    assert.equal(isProcessAlive(info.pid as number), false);
    assert.match(readFileSync(info.logPath, 'utf8'), /ignoring SIGTERM/);
    assert.equal(exits[0]?.signal, 'SIGKILL');
    assert.equal(exits[0]?.expected, true);
  });

  it('reports a crash with its exit code and expected=false', async () => {
    const runtime = newRuntime();
    const exits = exitsOf(runtime);
    const info = remember(await runtime.start(spec({ version: 'v3-crash' })));
    const exit = await waitFor(() => exits[0]);
    assert.equal(exit.instance.id, info.id);
    assert.equal(exit.code, 1);
    assert.equal(exit.signal, null);
    assert.equal(exit.expected, false);
    assert.deepEqual(runtime.list(), []);
    assert.match(await runtime.tailLog(info.id, 5), /simulated crash at start/);
  });

  it('refuses a command that does not exist with INSTANCE_START_FAILED naming it, also in the log', async () => {
    // Run without a shell, a missing program is a failed exec (ENOENT), not a shell exiting 127.
    const runtime = newRuntime();
    const exits = exitsOf(runtime);
    const missing = spec({ command: 'cutover-no-such-binary --port ${PORT}' });
    await assert.rejects(runtime.start(missing), (error: unknown) => {
      assert.ok(isCutoverError(error));
      assert.equal(error.code, 'INSTANCE_START_FAILED');
      assert.match(error.message, /cutover-no-such-binary: not found/);
      return true;
    });
    assert.deepEqual(runtime.list(), []);
    assert.deepEqual(exits, []);
    assert.match(await runtime.tailLog(`web/r1/blue-${missing.index}`, 3), /cutover-no-such-binary: not found/);
  });

  it('with shell: true, a missing program still exits 127 with the shell message in the log', async () => {
    const runtime = newRuntime();
    const exits = exitsOf(runtime);
    const info = remember(await runtime.start(spec({ shell: true, command: 'cutover-no-such-binary --port ${PORT}' })));
    const exit = await waitFor(() => exits[0]);
    assert.equal(exit.code, 127);
    assert.equal(exit.expected, false);
    assert.match(await runtime.tailLog(info.id, 3), /cutover-no-such-binary: not found/);
  });

  it('runs the command words without a shell: the pid is the app and its arguments arrive as written', async () => {
    const runtime = newRuntime();
    const script =
      'console.log(JSON.stringify({ pid: process.pid, args: process.argv.slice(1) })); setInterval(() => {}, 1000)';
    const info = remember(
      await runtime.start(
        spec({ version: 'v5', command: `node -e "${script}" -- --label=\${VERSION} 'a b' "\\$HOME" ';'` }),
      ),
    );
    const printed = await waitFor(() => /\{"pid".*\}/.exec(readFileSync(info.logPath, 'utf8'))?.[0]);
    const line = JSON.parse(printed) as { pid: number; args: string[] };
    assert.equal(line.pid, info.pid, 'no shell between cutover and the app');
    assert.deepEqual(line.args, ['--label=v5', 'a b', '$HOME', ';']);
    await runtime.stop(info.id);
  });

  it('refuses, without starting anything, a command that needs a shell but does not say shell: true', async () => {
    const runtime = newRuntime();
    await assert.rejects(runtime.start(spec({ command: 'node a.js && node b.js' })), (error: unknown) => {
      assert.ok(isCutoverError(error));
      assert.equal(error.code, 'INSTANCE_START_FAILED');
      assert.match(error.message, /shell: true/);
      return true;
    });
    assert.deepEqual(runtime.list(), []);
  });

  it('refuses a missing cwd with INSTANCE_START_FAILED naming the path', async () => {
    const runtime = newRuntime();
    const missing = path.join(logDir, 'no', 'such', 'dir');
    await assert.rejects(runtime.start(spec({ cwd: missing })), (error: unknown) => {
      assert.ok(isCutoverError(error));
      assert.equal(error.code, 'INSTANCE_START_FAILED');
      assert.ok(error.message.includes(missing), error.message);
      return true;
    });
    assert.deepEqual(runtime.list(), []);
    await assert.rejects(runtime.start(spec({ cwd: sampleApp })), /is not a directory/);
  });

  it('stops the whole process group of a wrapper, leaving no orphan', async () => {
    const runtime = newRuntime();
    const exits = exitsOf(runtime);
    const inner = nodeScript("console.log('inner pid ' + process.pid); setInterval(() => {}, 1000)");
    const info = remember(await runtime.start(spec({ command: `sh -c '${inner.replaceAll("'", "'\\''")} & wait'` })));
    const innerPid = await waitFor(() => {
      const match = /inner pid (\d+)/.exec(readFileSync(info.logPath, 'utf8'));
      return match ? Number(match[1]) : undefined;
    });
    seenPids.add(innerPid);
    assert.notEqual(innerPid, info.pid);
    assert.equal(isProcessAlive(innerPid), true);
    await runtime.stop(info.id, 2000);
    assert.equal(isProcessAlive(innerPid), false, 'the child of the wrapper is gone too');
    assert.equal(isProcessAlive(info.pid as number), false);
    assert.equal(exits[0]?.expected, true);
  });

  it('cleans up what a crashed wrapper left behind', async () => {
    const runtime = newRuntime();
    const exits = exitsOf(runtime);
    // The wrapper exits 3 once its background child runs (the child writes a
    // file when it does: a fixed sleep lost the race on a loaded machine).
    const started = path.join(logDir, `inner-started-${Date.now()}`);
    const inner = nodeScript(
      `console.log('inner pid ' + process.pid); require('fs').writeFileSync('${started}', 'up'); setInterval(() => {}, 1000)`,
    );
    const info = remember(
      await runtime.start(
        spec({ shell: true, command: `${inner} & while [ ! -s '${started}' ]; do sleep 0.05; done; exit 3` }),
      ),
    );
    const innerPid = await waitFor(() => {
      const match = /inner pid (\d+)/.exec(readFileSync(info.logPath, 'utf8'));
      return match ? Number(match[1]) : undefined;
    });
    seenPids.add(innerPid);
    const exit = await waitFor(() => exits[0]);
    assert.equal(exit.code, 3);
    await waitFor(() => !isProcessAlive(innerPid), 2000);
  });

  it('close() stops every instance', async () => {
    const runtime = newRuntime();
    const infos = await Promise.all([
      runtime.start(spec()),
      runtime.start(spec()),
      runtime.start(
        spec({
          command: nodeScript("process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)"),
          stopGracePeriodMs: 300,
        }),
      ),
    ]);
    infos.forEach(remember);
    assert.equal(new Set(infos.map((info) => info.port)).size, 3, 'each instance has its own port');
    await Promise.all(infos.slice(0, 2).map((info) => waitFor(() => getJson(info))));
    await runtime.close();
    for (const info of infos) assert.equal(isProcessAlive(info.pid as number), false, `${info.id} is gone`);
    assert.deepEqual(runtime.list(), []);
    await assert.rejects(runtime.start(spec()), /shut down/);
  });

  it('as a last resort, killAllInstanceGroupsSync() SIGKILLs every managed group at once', async () => {
    const runtime = newRuntime();
    const exits = exitsOf(runtime);
    const info = remember(
      await runtime.start(
        spec({ command: nodeScript("process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)") }),
      ),
    );
    assert.equal(killAllInstanceGroupsSync(), 1);
    await waitFor(() => exits[0]);
    assert.equal(exits[0]?.signal, 'SIGKILL');
    assert.equal(isProcessAlive(info.pid as number), false);
  });
});

describe('adopting instances after a controller restart', () => {
  /**
   * Runs a controller in a separate node process that starts one instance and
   * prints its record, then SIGKILLs that controller: the instance must live on.
   */
  async function startWithDoomedController(instance: InstanceSpec): Promise<InstanceInfo> {
    const script = `
      import { ProcessRuntime } from ${JSON.stringify(runtimeModule)};
      const runtime = new ProcessRuntime({ logDir: ${JSON.stringify(logDir)} });
      const info = await runtime.start(${JSON.stringify(instance)});
      console.log(JSON.stringify(info));
      setInterval(() => {}, 1000);
    `;
    const controller = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    controller.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const line = await waitFor(() => output.includes('\n') && output.split('\n')[0]);
    const record = remember(JSON.parse(line) as InstanceInfo);
    controller.kill('SIGKILL');
    await new Promise((resolve) => controller.once('exit', resolve));
    return record;
  }

  it('takes back a live instance: list() has it, it keeps serving, stop() kills it', async () => {
    const record = await startWithDoomedController(spec({ version: 'v-adopted' }));
    assert.equal((await waitFor(() => getJson(record))).version, 'v-adopted', 'survived the controller');

    const runtime = newRuntime();
    const exits = exitsOf(runtime);
    const adopted = await runtime.adopt([record]);
    assert.deepEqual(
      adopted.map((info) => info.id),
      [record.id],
    );
    assert.deepEqual(runtime.list(), [record]);
    assert.match(await runtime.tailLog(record.id, 1), /listening/);

    await runtime.stop(record.id, 3000);
    assert.equal(isProcessAlive(record.pid as number), false);
    assert.deepEqual(runtime.list(), []);
    assert.equal(exits.length, 1);
    assert.equal(exits[0]?.expected, true);
    assert.equal(exits[0]?.code, null, 'not our child: no exit code');
  });

  it('notices an adopted instance dying by polling its pid', async () => {
    const record = await startWithDoomedController(spec());
    const runtime = newRuntime();
    const exits = exitsOf(runtime);
    assert.equal((await runtime.adopt([record])).length, 1);
    process.kill(record.pid as number, 'SIGKILL');
    const exit = await waitFor(() => exits[0], 2000);
    assert.equal(exit.expected, false);
    assert.deepEqual(runtime.list(), []);
  });

  it('refuses records whose pid token does not match, that have no token, or whose process is gone', async () => {
    const record = await startWithDoomedController(spec());
    const runtime = newRuntime();
    const wrongToken = { ...record, id: 'web/r1/blue-900', pidToken: `${record.pidToken}0` };
    const noToken = { ...record, id: 'web/r1/blue-901', pidToken: null };
    const noPid = { ...record, id: 'web/r1/blue-902', pid: null };
    assert.deepEqual(await runtime.adopt([wrongToken, noToken, noPid]), []);
    assert.deepEqual(runtime.list(), []);

    process.kill(-(record.pid as number), 'SIGKILL');
    await waitFor(() => !isProcessAlive(record.pid as number));
    assert.deepEqual(await runtime.adopt([record]), [], 'a dead pid is not adopted');
  });
});
