import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { CutoverError } from '../../core/errors.js';
import type { InstanceEjectionEvent } from '../proxy/passive-health.js';
import type { ProxyProcessOptions } from './proxy-process-options.js';
import { isAlive, RemoteProxyRouter } from './remote-proxy-router.js';

/**
 * Where the proxy process keeps its files, under the state directory: the
 * control socket, the options it was started with and its pid. Its log is
 * `<state_dir>/logs/proxy.log`, beside the instances' logs.
 */
export function proxyPaths(stateDir: string): {
  dir: string;
  socket: string;
  options: string;
  pid: string;
  log: string;
} {
  const dir = path.join(stateDir, 'proxy');
  return {
    dir,
    socket: path.join(dir, 'control.sock'),
    options: path.join(dir, 'options.json'),
    pid: path.join(dir, 'proxy.pid'),
    log: path.join(stateDir, 'logs', 'proxy.log'),
  };
}

/** A Unix socket path longer than this does not fit sockaddr_un on Linux (108 bytes with the NUL). */
const MAX_SOCKET_PATH = 107;
/** How long a new proxy process may take to say it listens. */
const START_TIMEOUT_MS = 15_000;

const DAEMON_MAIN = fileURLToPath(new URL('./proxy-daemon-main.js', import.meta.url));

export interface ProxyProcessLaunch {
  stateDir: string;
  options: ProxyProcessOptions;
  logger?: Logger;
  onInstanceEjection?: (event: InstanceEjectionEvent) => void;
}

/**
 * The proxy as a process of its own: adopts the one already running for this
 * state directory (a controller restart) when it has the same options, and
 * starts one otherwise. A proxy with other options (a new listen address,
 * client limits or service policies in cutover.yaml) is stopped first and a
 * new one started: that costs the gap of a restart, which `cutover proxy
 * restart` will close with a socket handover.
 */
export async function connectOrStartProxy(launch: ProxyProcessLaunch): Promise<RemoteProxyRouter> {
  const paths = proxyPaths(launch.stateDir);
  if (Buffer.byteLength(paths.socket) > MAX_SOCKET_PATH) {
    throw new CutoverError(
      'CONFIG_INVALID',
      `server.state_dir is too long for the proxy's control socket (${paths.socket} is over ${MAX_SOCKET_PATH} bytes): use a shorter path`,
    );
  }
  fs.mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  fs.mkdirSync(path.dirname(paths.log), { recursive: true, mode: 0o700 });
  const connect = (): Promise<RemoteProxyRouter> =>
    RemoteProxyRouter.connect({
      socketPath: paths.socket,
      ...(launch.logger === undefined ? {} : { logger: launch.logger }),
      ...(launch.onInstanceEjection === undefined ? {} : { onInstanceEjection: launch.onInstanceEjection }),
      // Port 0 (tests) means "any" once: a proxy started again takes the port its clients already use.
      respawn: (last) =>
        startProxyProcess(
          paths,
          last !== null && launch.options.listen.port === 0
            ? { ...launch.options, listen: { ...launch.options.listen, port: last.listen.port } }
            : launch.options,
          launch.logger,
        ),
    });
  const running = await connect().catch(() => null);
  if (running !== null) {
    if (running.proxy.optionsDigest === launch.options.digest) {
      launch.logger?.info(
        { pid: running.proxy.pid, generation: running.proxy.generation, routes: running.proxy.routes.length },
        'adopted the running proxy process: traffic never stopped',
      );
      return running;
    }
    launch.logger?.warn(
      { pid: running.proxy.pid },
      'the running proxy process has other options than cutover.yaml: stopping it and starting a new one',
    );
    await running.close();
  }
  await startProxyProcess(paths, launch.options, launch.logger);
  const router = await connect();
  router.startedHere = true;
  return router;
}

/** Starts a proxy process in a process group of its own, detached: it outlives whoever started it. */
async function startProxyProcess(
  paths: ReturnType<typeof proxyPaths>,
  options: ProxyProcessOptions,
  logger: Logger | undefined,
): Promise<void> {
  fs.writeFileSync(paths.options, JSON.stringify(options), { mode: 0o600 });
  const log = fs.openSync(paths.log, 'a', 0o600);
  let child;
  try {
    child = spawn(process.execPath, [DAEMON_MAIN, paths.socket, paths.options], {
      detached: true,
      cwd: paths.dir,
      // The proxy runs no program and needs none of the server's environment (its secrets least of all).
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      stdio: ['ignore', log, log, 'pipe'],
    });
  } finally {
    fs.closeSync(log);
  }
  const readyPipe = child.stdio[3] as NodeJS.ReadableStream & { destroy(): void };
  const said = await new Promise<{ ready: boolean; pid?: number; error?: string }>((resolve) => {
    let text = '';
    const timer = setTimeout(
      () => resolve({ ready: false, error: `it did not say it listens within ${START_TIMEOUT_MS} ms` }),
      START_TIMEOUT_MS,
    );
    readyPipe.setEncoding('utf8');
    readyPipe.on('data', (chunk: string) => (text += chunk));
    readyPipe.on('error', () => {});
    readyPipe.on('end', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(text) as { ready: boolean; error?: string });
      } catch {
        resolve({ ready: false, error: `it exited before it listened (see ${paths.log})` });
      }
    });
  });
  readyPipe.destroy();
  child.unref();
  if (!said.ready) {
    if (isAlive(child.pid)) child.kill('SIGKILL');
    throw new CutoverError('PROXY_START_FAILED', `the proxy process could not start: ${said.error ?? 'unknown'}`);
  }
  fs.writeFileSync(paths.pid, `${child.pid}\n`, { mode: 0o600 });
  logger?.info({ pid: child.pid, log: paths.log }, 'proxy process started');
}

/**
 * `cutover down` without a controller: stops the proxy process of a state
 * directory by its pid file, gracefully. Resolves false when none runs.
 */
export async function stopProxyProcess(stateDir: string, timeoutMs = 10_000): Promise<boolean> {
  const paths = proxyPaths(stateDir);
  const router = await RemoteProxyRouter.connect({ socketPath: paths.socket }).catch(() => null);
  if (router !== null) {
    await router.close();
    return true;
  }
  let pid = NaN;
  try {
    pid = Number(fs.readFileSync(paths.pid, 'utf8').trim());
  } catch {
    return false;
  }
  // A pid file outlives its process, and pids are reused: only a proxy process of ours gets the signal.
  if (!Number.isInteger(pid) || !isAlive(pid) || !isProxyProcess(pid, paths.socket)) return false;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid) && Date.now() < deadline) await delay(20);
  return true;
}

function isProxyProcess(pid: number, socketPath: string): boolean {
  try {
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.includes(DAEMON_MAIN) && argv.includes(socketPath);
  } catch {
    return false;
  }
}
