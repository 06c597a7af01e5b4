import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { CutoverError } from '../../core/errors.js';
import { listenError } from '../../core/listen-errors.js';
import type { InstanceEjectionEvent } from '../proxy/passive-health.js';
import type { ProxyProcessOptions } from './proxy-process-options.js';
import { proxyPaths, type ProxyPaths } from './proxy-paths.js';
import { isAlive, RemoteProxyRouter } from './remote-proxy-router.js';

export { proxyPaths };

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
  /** What upgraded connections get on the old generation in a handover (the services' longest drain_timeout). */
  handoverDrainMs?: number;
}

/** Which cutover build this is, for the proxy's options: a proxy run by another build is handed over to this one. */
export const PROXY_BUILD = `${packageVersion()} ${DAEMON_MAIN}`;

function packageVersion(): string {
  try {
    const pkg = JSON.parse(fs.readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * The proxy as a process of its own: adopts the one already running for this
 * state directory (a controller restart) when it has the same options and
 * build, and starts one otherwise. A proxy with other options (client
 * limits, workers or service policies in cutover.yaml) or run by another
 * cutover build hands its socket over to a new generation; only a new
 * listen address (or a build that cannot hand over) costs a restart.
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
      ...(launch.handoverDrainMs === undefined ? {} : { handoverDrainMs: launch.handoverDrainMs }),
      // Port 0 (tests) means "any" once: a proxy started again takes the port its clients already use.
      // It starts with the routes it is to hold, so it answers no client before it has them.
      respawn: (last, initial) =>
        startProxyProcess(
          paths,
          last !== null && launch.options.listen.port === 0
            ? { ...launch.options, listen: { ...launch.options.listen, port: last.listen.port }, initial }
            : { ...launch.options, initial },
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
    if (await handedOver(running, paths, launch)) return running;
    launch.logger?.warn(
      { pid: running.proxy.pid },
      'the running proxy process cannot hand over to the new options (another listen address, or an older build): stopping it and starting a new one',
    );
    await running.close();
  }
  await startProxyProcess(paths, launch.options, launch.logger);
  const router = await connect();
  router.startedHere = true;
  return router;
}

/**
 * The running proxy has other options (cutover.yaml changed) or is another
 * cutover build: when it listens where the new options say, it hands its
 * socket over to a new generation running this build with these options,
 * so nothing is refused. Another address cannot be handed over.
 */
async function handedOver(running: RemoteProxyRouter, paths: ProxyPaths, launch: ProxyProcessLaunch): Promise<boolean> {
  const listen = running.proxy.listen;
  const wanted = launch.options.listen;
  const samePort = wanted.port === 0 || wanted.port === listen.port;
  if (!samePort || wanted.host !== listen.host) return false;
  fs.writeFileSync(paths.options, JSON.stringify(launch.options), { mode: 0o600 });
  const from = running.proxy.pid;
  try {
    const next = await running.handOver({ main: DAEMON_MAIN, optionsFile: paths.options });
    launch.logger?.info(
      { from, to: next.pid, workers: next.workers },
      'the running proxy had other options or another build: a new generation took its socket over',
    );
    return true;
  } catch (error) {
    launch.logger?.warn({ err: error }, 'the running proxy did not hand over');
    return false;
  }
}

/** Starts a proxy process in a process group of its own, detached: it outlives whoever started it. */
async function startProxyProcess(
  paths: ProxyPaths,
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
  const said = await new Promise<{ ready: boolean; pid?: number; error?: string; code?: string | null }>((resolve) => {
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
    const { host, port } = options.listen;
    throw (
      listenError({ what: 'the proxy', key: 'server.proxy', host, port }, said.code) ??
      new CutoverError('PROXY_START_FAILED', `the proxy process could not start: ${said.error ?? 'unknown'}`)
    );
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
