import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { request } from 'undici';
import { CLI } from './cutover-harness.js';

/** Runs the real `cutover` CLI as a user would, from a directory, and collects its output. */
export function runCli(
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: options.cwd,
      env: { ...cleanEnv(), NO_COLOR: '1', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`cutover ${args.join(' ')} timed out\n${stdout}\n${stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * The environment without CUTOVER_* from the developer's shell, nor NODE_EXTRA_CA_CERTS: every node process
 * reads and parses the bundle it names at start-up (about 70 ms on a CI machine whose environment sets it to
 * the system's bundle), and what these processes reach is on this machine, with test CAs passed explicitly.
 */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('CUTOVER_')) delete env[key];
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

/** Starts `cutover server` as a child process and waits until its admin API answers. */
export async function startServerProcess(
  configFile: string,
  cwd: string,
  adminPort: number,
  env: NodeJS.ProcessEnv = {},
): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CLI, 'server', '--config', configFile], {
    cwd,
    env: { ...cleanEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`cutover server exited with ${child.exitCode}:\n${output}`);
    try {
      const response = await request(`http://127.0.0.1:${adminPort}/healthz`);
      await response.body.dump();
      if (response.statusCode === 200) return child;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`cutover server did not come up:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * A test's full stop of what a `cutover server` started in `cwd`: `cutover down --yes` (through the
 * server's API while it runs, by adopting what is left when it does not), since SIGTERM stops only the
 * controller. The server is SIGKILLed if it does not go.
 */
export async function downServerProcess(
  server: ChildProcess | null,
  cwd: string,
  env: NodeJS.ProcessEnv = {},
): Promise<void> {
  const down = await runCli(['down', '--yes'], { cwd, env, timeoutMs: 90_000 }).catch(() => null);
  if (server !== null && server.exitCode === null && server.signalCode === null) {
    if (down?.code !== 0) server.kill('SIGKILL');
    await waitForExit(server);
  }
  // A down that failed leaves instances running after the test: a bug to see, not an orphan to hide.
  if (down?.code !== 0) throw new Error(`cutover down --yes failed (${down?.code}): ${down?.stderr ?? 'did not run'}`);
}

export function waitForExit(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie is dead for our purposes (PID 1 in a container may never reap it).
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z /.test(stat);
  } catch {
    return false;
  }
}
