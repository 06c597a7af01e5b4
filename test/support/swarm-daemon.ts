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
 * Only one swarm daemon runs at a time (docker_gwbridge is the host's, and
 * stop() deletes it): a second test file waits for the first one's stop()
 * (a lock file naming the holder's pid; a dead holder's lock is taken over).
 * The manager and data path ports are free ones, not 2377 and 4789, so a
 * daemon a killed test run left behind does not block the next run.
 */
export async function startSwarmDaemon(): Promise<DockerDaemon> {
  await takeSwarmLock();
  let daemon: DockerDaemon;
  try {
    daemon = await startDockerDaemon();
  } catch (error) {
    releaseSwarmLock();
    throw error;
  }
  try {
    const [managerPort, dataPathPort] = [await findFreePort(), await findFreePort()];
    await daemon.cli(['swarm', 'init', '--advertise-addr', `127.0.0.1:${managerPort}`, '--listen-addr', `127.0.0.1:${managerPort}`, '--data-path-port', String(dataPathPort)]);
  } catch (error) {
    await stopSwarm(daemon);
    throw error;
  }
  return { ...daemon, stop: () => stopSwarm(daemon) };
}

async function stopSwarm(daemon: DockerDaemon): Promise<void> {
  try {
    await daemon.cli(['swarm', 'leave', '--force']);
  } catch { /* not in a swarm (init failed), or the daemon is gone: stop it anyway */ }
  try {
    await daemon.stop();
  } finally {
    spawnSync('ip', ['link', 'del', 'docker_gwbridge'], { stdio: 'ignore' });
    releaseSwarmLock();
  }
}

const LOCK = path.join(os.tmpdir(), 'cutover-swarm-daemon.lock');
const LOCK_WAIT_MS = 15 * 60_000;

async function takeSwarmLock(): Promise<void> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      fs.writeFileSync(LOCK, String(process.pid), { flag: 'wx' });
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number(fs.readFileSync(LOCK, 'utf8').trim() || 0);
    if (!isAlive(holder)) {
      fs.rmSync(LOCK, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`another test's swarm daemon (pid ${holder}, ${LOCK}) still runs after ${LOCK_WAIT_MS / 60_000} min`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

function releaseSwarmLock(): void {
  try {
    if (fs.readFileSync(LOCK, 'utf8').trim() === String(process.pid)) fs.rmSync(LOCK, { force: true });
  } catch { /* not held */ }
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
