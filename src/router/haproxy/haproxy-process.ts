import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';

/**
 * The HAProxy binary and its master, seen from outside: `haproxy -c` checks
 * a config, `haproxy -W -D` starts a master-worker that daemonizes (so it
 * outlives cutover), and SIGUSR2 to the master reloads it. Every command is
 * an argument array (no shell) with a minimal environment.
 */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The code when the binary could not be started at all (missing, not executable), as a shell would. */
export const HAPROXY_NOT_RUNNABLE = 127;

export function runHaproxy(binary: string, args: readonly string[], timeoutMs = 15_000): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(
      binary,
      args,
      {
        timeout: timeoutMs,
        maxBuffer: 4 * 1024 * 1024,
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
      },
      (error, stdout, stderr) => {
        if (error === null) {
          resolve({ code: 0, stdout, stderr });
          return;
        }
        const code =
          typeof error.code === 'number' ? error.code : typeof error.code === 'string' ? HAPROXY_NOT_RUNNABLE : 124;
        resolve({ code, stdout, stderr: stderr.length > 0 ? stderr : error.message });
      },
    );
  });
}

/** `haproxy -c -q -f config`: null when valid, else HAProxy's reason. */
export async function checkConfig(
  binary: string,
  config: string,
): Promise<{ ok: true } | { ok: false; notRunnable: boolean; reason: string }> {
  const result = await runHaproxy(binary, ['-c', '-q', '-f', config]);
  if (result.code === 0) return { ok: true };
  return { ok: false, notRunnable: result.code === HAPROXY_NOT_RUNNABLE, reason: haproxyErrorLine(result.stderr) };
}

/** Starts a daemonized master-worker; resolves with the master's pid once the pid file names a live one. */
export async function startMaster(
  binary: string,
  config: string,
  pidFile: string,
): Promise<{ pid: number } | { error: string }> {
  const result = await runHaproxy(binary, ['-W', '-D', '-f', config, '-p', pidFile]);
  if (result.code !== 0) return { error: haproxyErrorLine(result.stderr) };
  const deadline = Date.now() + 5_000;
  for (;;) {
    const pid = runningMasterPid(pidFile);
    if (pid !== null) return { pid };
    if (Date.now() > deadline) return { error: `no live master in ${pidFile} after start` };
    await delay(20);
  }
}

/** The pid in the pid file when that process is alive, else null. */
export function runningMasterPid(pidFile: string): number | null {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(pidFile, 'utf8').trim().split('\n')[0]);
  } catch {
    return null;
  }
  if (!Number.isInteger(pid) || pid <= 1) return null;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return null;
  }
}

/** Asks the master to reload (re-read the config, start a new worker that takes the listeners over). */
export function signalReload(pid: number): void {
  process.kill(pid, 'SIGUSR2');
}

/**
 * Stops the master and its workers: SIGTERM (hard stop: connections close),
 * then SIGKILL after the timeout. Resolves once the master is gone.
 */
export async function stopMaster(pid: number, timeoutMs = 5_000): Promise<void> {
  const alive = (): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (alive()) {
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGKILL');
      break;
    }
    await delay(20);
  }
}

/** HAProxy's own reason: the first `[ALERT]` line, without its prefix; else the first line. */
export function haproxyErrorLine(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
  const reason = lines.find((line) => line.includes('[ALERT]')) ?? lines[0] ?? 'no output';
  return reason.replace(/^\[ALERT\]\s+\(\d+\)\s*:\s*/, '');
}
