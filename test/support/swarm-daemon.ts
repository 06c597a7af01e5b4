import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findFreePort } from '../../src/runtime/process/free-port.js';
import { startDockerDaemon, type DockerDaemon } from './docker-daemon.js';

/**
 * The test's own Docker daemon (docker-daemon.ts) made a single-node Swarm
 * manager on loopback. Swarm creates a `docker_gwbridge` interface even with
 * --bridge=none; `stop()` leaves the swarm (removing every service), stops the
 * daemon as docker-daemon.ts does (by its pid, unmounting what it left), and
 * deletes that interface: nothing keeps running and no interface is left.
 * Two test files may each run one at once (npm test runs two files at a
 * time): the manager and data path ports are free ones, not 2377 and 4789
 * (which also lets a run proceed past a daemon a killed run left behind),
 * and docker_gwbridge, which is the host's, is deleted by the last daemon
 * to stop (each running daemon holds a file naming its test's pid).
 */
export async function startSwarmDaemon(): Promise<DockerDaemon> {
  await takeSwarmTurn();
  const daemon = await startDockerDaemon();
  const holder = holdBridge();
  try {
    const [managerPort, dataPathPort] = [await findFreePort(), await findFreePort()];
    await daemon.cli([
      'swarm',
      'init',
      '--advertise-addr',
      `127.0.0.1:${managerPort}`,
      '--listen-addr',
      `127.0.0.1:${managerPort}`,
      '--data-path-port',
      String(dataPathPort),
    ]);
  } catch (error) {
    await stopSwarm(daemon, holder);
    throw error;
  }
  return { ...daemon, stop: () => stopSwarm(daemon, holder) };
}

/**
 * One Swarm manager at a time on this machine: two at once (npm test runs two
 * files side by side) made each one's health checks and task starts so slow
 * that Swarm's own update timeouts fired. A file waits its turn (at most
 * 150 s, then it goes ahead anyway); a turn whose holder died is taken over.
 */
const TURN = path.join(os.tmpdir(), 'cutover-test-swarm.turn');

export async function takeSwarmTurn(): Promise<void> {
  const giveUpAt = Date.now() + 150_000;
  while (Date.now() < giveUpAt) {
    try {
      fs.writeFileSync(TURN, String(process.pid), { flag: 'wx' });
      process.once('exit', releaseSwarmTurn);
      return;
    } catch {
      const holder = Number(fs.readFileSync(TURN, 'utf8').trim() || '0');
      if (!holder || !isAlive(holder)) fs.rmSync(TURN, { force: true });
      else await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

function releaseSwarmTurn(): void {
  try {
    if (fs.readFileSync(TURN, 'utf8').trim() === String(process.pid)) fs.rmSync(TURN, { force: true });
  } catch {
    // Not ours, or already gone.
  }
}

async function stopSwarm(daemon: DockerDaemon, holder: string): Promise<void> {
  try {
    await daemon.cli(['swarm', 'leave', '--force']);
  } catch {
    /* not in a swarm (init failed), or the daemon is gone: stop it anyway */
  }
  try {
    await daemon.stop();
  } finally {
    releaseBridge(holder);
  }
}

/** Gives up this daemon's hold on docker_gwbridge (deleted if no other test's daemon holds it) and the swarm turn. */
export function releaseBridge(holder: string): void {
  fs.rmSync(holder, { force: true });
  if (!otherHolders()) spawnSync('ip', ['link', 'del', 'docker_gwbridge'], { stdio: 'ignore' });
  releaseSwarmTurn();
}

const HOLDERS = path.join(os.tmpdir(), 'cutover-swarm-daemons');

export function holdBridge(): string {
  fs.mkdirSync(HOLDERS, { recursive: true });
  const file = path.join(HOLDERS, `${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`);
  fs.writeFileSync(file, '');
  return file;
}

/** True when a live test process still runs a swarm daemon; a dead one's file is removed. */
function otherHolders(): boolean {
  let others = false;
  for (const name of fs.readdirSync(HOLDERS)) {
    if (isAlive(Number(name.split('-')[0]))) others = true;
    else fs.rmSync(path.join(HOLDERS, name), { force: true });
  }
  return others;
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A swarm service of the sample image (docker-test-image.ts): pull never (there is no registry), quick health checks. */
export function swarmService(name: string, settings: string): { name: string; body: string } {
  return {
    name,
    body: `hosts: [${name}.localhost]
runtime: swarm
image: cutover-sample:\${VERSION}
pull: never
placement: [node.role==manager]
health: { path: /health, interval: 200ms, timeout: 1s, unhealthy_threshold: 2, start_period: 5s }
stop_grace_period: 3s
drain_timeout: 2s
${settings}`,
  };
}
