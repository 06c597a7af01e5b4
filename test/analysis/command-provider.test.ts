import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CommandProvider } from '../../src/analysis/command-provider.js';
import type { MeasurementContext } from '../../src/analysis/index.js';

/**
 * Real shell commands: JSON on stdout is the value; otherwise the exit code
 * and output are; the release ids and window start are in the environment;
 * a command past its timeout is killed with everything it started.
 */
const context: MeasurementContext = {
  service: 'web',
  canaryReleaseId: 'web-7',
  stableReleaseId: 'web-6',
  windowStart: 1_700_000_000_123,
};
let dir: string;

function run(command: string, timeoutMs = 5000) {
  return new CommandProvider({ command, timeoutMs, cwd: dir }).measure(context);
}

/** Running, as opposed to gone or a zombie waiting for a parent that no longer exists to reap it. */
async function running(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cutover-command-'));
  await writeFile(
    join(dir, 'check.sh'),
    '#!/bin/sh\necho "{\\"rate\\": 0.01, \\"canary\\": \\"$CANARY_RELEASE\\"}"\n',
    { mode: 0o755 },
  );
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('command provider', () => {
  it('takes JSON on stdout as the value, running next to the config', async () => {
    const result = await run('./check.sh');
    assert.ok('value' in result, JSON.stringify(result));
    assert.deepEqual(result.value, { rate: 0.01, canary: 'web-7' });
    assert.deepEqual(await run('echo 0.25'), { value: 0.25, message: 'stdout: 0.25' });
  });

  it('passes the service, the releases and the window start in the environment', async () => {
    const result = await run(
      'printf \'["%s","%s","%s",%s]\' "$SERVICE" "$CANARY_RELEASE" "$STABLE_RELEASE" "$WINDOW_START"',
    );
    assert.ok('value' in result, JSON.stringify(result));
    assert.deepEqual(result.value, ['web', 'web-7', 'web-6', 1_700_000_000_123]);
  });

  it('gives { exitCode, stdout, stderr } when stdout is not JSON or the command failed', async () => {
    assert.deepEqual(await run('echo all good'), {
      value: { exitCode: 0, stdout: 'all good', stderr: '' },
      message: 'exit 0',
    });
    assert.deepEqual(await run('echo 12; echo "too many errors" >&2; exit 3'), {
      value: { exitCode: 3, stdout: '12', stderr: 'too many errors' },
      message: 'exit 3: too many errors',
    });
    assert.deepEqual(await run('true'), { value: { exitCode: 0, stdout: '', stderr: '' }, message: 'exit 0' });
  });

  it('kills the command and what it started at the timeout', async () => {
    const pidFile = join(dir, 'sleeper.pid');
    const started = Date.now();
    const result = await run(`sleep 30 & echo $! > ${pidFile}; wait`, 300);
    assert.deepEqual(result, { error: 'timed out after 300ms' });
    assert.ok(Date.now() - started < 2000, 'the timeout did not stop the wait');
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    // SIGKILL to the group is immediate, but give the kernel a moment to reap.
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(await running(pid), false, `the background sleep ${pid} survived the timeout`);
  });

  it('leaves nothing the command started running once it exits', async () => {
    // A metric runs every interval: a script that starts `tool &` and exits leaked one process per measurement.
    const quiet = join(dir, 'quiet.pid');
    const holding = join(dir, 'holding.pid');
    assert.deepEqual(await run(`sleep 300 >/dev/null 2>&1 & echo $! > ${quiet}; echo 0.01`), {
      value: 0.01,
      message: 'stdout: 0.01',
    });
    // This one keeps the shell's stdout open: its value is what was printed before the shell exited.
    assert.deepEqual(await run(`sleep 300 & echo $! > ${holding}; echo 0.02`), {
      value: 0.02,
      message: 'stdout: 0.02',
    });
    for (const file of [quiet, holding]) {
      const pid = Number((await readFile(file, 'utf8')).trim());
      let alive = true;
      // SIGKILL to the group is immediate; the kernel reaps the orphan soon after.
      for (let tries = 0; alive && tries < 50; tries++) {
        alive = await running(pid);
        if (alive) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.equal(alive, false, `the background sleep ${pid} outlived its measurement`);
    }
  });

  it('writes out the control characters of its output instead of passing them to a terminal', async () => {
    const result = await run("printf 'boom\\033[2J\\033]0;owned\\007\\rok' >&2; exit 1");
    assert.ok('message' in result && result.message !== undefined, JSON.stringify(result));
    assert.equal(result.message, 'exit 1: boom\\u001b[2J\\u001b]0;owned\\u0007\\u000dok');
  });

  it('reports a command killed by a signal, and a directory that does not exist', async () => {
    assert.deepEqual(await run('kill -TERM $$'), { error: 'killed by SIGTERM' });
    const missing = await new CommandProvider({ command: 'true', timeoutMs: 1000, cwd: join(dir, 'nope') }).measure(
      context,
    );
    assert.ok('error' in missing && /^cannot run "true": .*ENOENT/.test(missing.error), JSON.stringify(missing));
  });

  it('stops when the measurement is cancelled', async () => {
    const controller = new AbortController();
    const pending = new CommandProvider({ command: 'sleep 30', timeoutMs: 60_000 }).measure({
      ...context,
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 50);
    assert.deepEqual(await pending, { error: 'measurement cancelled' });
  });
});
