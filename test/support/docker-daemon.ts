import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';

const run = promisify(execFile);

/**
 * A real Docker daemon of the test's own: its data, exec root and socket in a
 * temporary directory, no bridge network, no iptables (host networking on
 * loopback is what the tests use). One per test file, shared by its tests.
 * `stop()` removes every container, stops the daemon by its pid, unmounts
 * what it left under the directory and removes it: nothing keeps running.
 * If the daemon cannot start, `startDockerDaemon` throws with its log: a test
 * that needs Docker fails loudly rather than skipping.
 */
export interface DockerDaemon {
  dir: string;
  socket: string;
  /** DOCKER_HOST-style address: unix://<dir>/docker.sock. */
  host: string;
  docker: Docker;
  /** Runs the docker CLI against this daemon (test setup only: building images). */
  cli(args: string[], input?: string): Promise<string>;
  stop(): Promise<void>;
  /** Stops the daemon only (SIGTERM), leaving its containers and directory: with live restore they keep running. */
  kill(): Promise<void>;
  /** Starts the daemon again on the same directory and socket after `kill`. */
  restart(): Promise<void>;
}

const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 20_000;
const live = new Set<ChildProcess>();

// Last resort if a test process dies without its after() hook: no daemon outlives it.
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export interface DockerDaemonOptions {
  /** dockerd --live-restore: containers keep running while the daemon is down (see `kill` and `restart`). */
  liveRestore?: boolean;
  /** More dockerd arguments, e.g. a default runtime of the test's own (kube-cluster.ts clamps oom_score_adj). */
  extraArgs?: string[];
}

export async function startDockerDaemon(options: DockerDaemonOptions = {}): Promise<DockerDaemon> {
  // Short path: the socket path must fit in sun_path (108 bytes), containerd's socket lives under the exec root.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-dockerd-'));
  const socket = path.join(dir, 'docker.sock');
  const logFile = path.join(dir, 'dockerd.log');
  const docker = new Docker({ socketPath: socket });
  let child = spawnDockerd(dir, socket, logFile, options);
  const daemon: DockerDaemon = {
    dir,
    socket,
    host: `unix://${socket}`,
    docker,
    cli: async (args, input) => {
      const docker = findBinary('docker');
      if (input === undefined)
        return (await run(docker, args, { env: cliEnv(socket), maxBuffer: 16 * 1024 * 1024 })).stdout;
      const result = spawnSync(docker, args, {
        env: cliEnv(socket),
        input,
        encoding: 'utf8',
        maxBuffer: 16 * 1024 * 1024,
      });
      if (result.status !== 0) throw new Error(`docker ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
      return result.stdout;
    },
    stop: () => stopDaemon(child, docker, dir),
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await exited;
      live.delete(child);
    },
    restart: async () => {
      child = spawnDockerd(dir, socket, logFile, options);
      await untilAnswering(child, docker, daemon, logFile, socket);
    },
  };
  await untilAnswering(child, docker, daemon, logFile, socket);
  return daemon;
}

function spawnDockerd(dir: string, socket: string, logFile: string, options: DockerDaemonOptions): ChildProcess {
  const log = fs.openSync(logFile, 'a');
  const child = spawn(
    findBinary('dockerd'),
    [
      '--data-root',
      path.join(dir, 'data'),
      '--exec-root',
      path.join(dir, 'exec'),
      '-H',
      `unix://${socket}`,
      '--pidfile',
      path.join(dir, 'docker.pid'),
      '--iptables=false',
      '--ip-forward=false',
      '--ip-masq=false',
      '--bridge=none',
      ...(options.liveRestore === true ? ['--live-restore'] : []),
      ...(options.extraArgs ?? []),
    ],
    { env: { ...process.env, DOCKER_SERVICE_PREFER_OFFLINE_IMAGE: '1' }, stdio: ['ignore', log, log] },
  );
  fs.closeSync(log);
  live.add(child);
  return child;
}

async function untilAnswering(
  child: ChildProcess,
  docker: Docker,
  daemon: DockerDaemon,
  logFile: string,
  socket: string,
): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const tail = fs.readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n');
      await daemon.stop();
      throw new Error(`dockerd exited (${child.exitCode ?? child.signalCode}) before it answered; its log:\n${tail}`);
    }
    try {
      await docker.ping();
      return;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) {
      const tail = fs.readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n');
      await daemon.stop();
      throw new Error(`dockerd did not answer on ${socket} within ${START_TIMEOUT_MS} ms; its log:\n${tail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function findBinary(name: string): string {
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/bin', '/sbin']) {
    if (dir && fs.existsSync(path.join(dir, name))) return path.join(dir, name);
  }
  throw new Error(`${name} not found: the Docker tests need the real engine (apt-get install -y docker.io)`);
}

function cliEnv(socket: string): NodeJS.ProcessEnv {
  // The legacy builder builds FROM a local image without BuildKit (none is installed here).
  return { ...process.env, DOCKER_HOST: `unix://${socket}`, DOCKER_BUILDKIT: '0', DOCKER_CLI_HINTS: 'false' };
}

async function stopDaemon(child: ChildProcess, docker: Docker, dir: string): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    try {
      const containers = await docker.listContainers({ all: true });
      await Promise.all(
        containers.map((c) =>
          docker
            .getContainer(c.Id)
            .remove({ force: true })
            .catch(() => {}),
        ),
      );
    } catch {
      /* the daemon is not answering; SIGTERM below */
    }
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }
  live.delete(child);
  await killLeftovers(dir);
  unmountUnder(dir);
  fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * containerd and shims the daemon started, if any outlived it (found by the
 * directory in their command line): killed, and waited for until gone.
 */
async function killLeftovers(dir: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const left = processesMentioning(dir);
    if (left.length === 0) return;
    if (Date.now() > deadline) throw new Error(`processes of the test daemon would not die: ${left.join(', ')}`);
    for (const pid of left) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function processesMentioning(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let cmdline: string;
    let state: string;
    try {
      cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      state = fs.readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]?.[0] ?? '';
    } catch {
      continue;
    }
    if (cmdline.includes(dir) && state !== 'Z') pids.push(Number(entry));
  }
  return pids;
}

/** Mounts the daemon left under its directory (overlay layers, shm, netns), deepest first. */
function unmountUnder(dir: string): void {
  const mounts = fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((mountPoint) => mountPoint === dir || mountPoint.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const mountPoint of mounts) spawnSync('umount', ['-l', mountPoint], { stdio: 'ignore' });
}
