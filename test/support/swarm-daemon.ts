import { spawnSync } from 'node:child_process';
import { startDockerDaemon, type DockerDaemon } from './docker-daemon.js';

/**
 * The test's own Docker daemon (docker-daemon.ts) made a single-node Swarm
 * manager on loopback. Swarm creates a `docker_gwbridge` interface even with
 * --bridge=none; `stop()` leaves the swarm (removing every service), stops the
 * daemon as docker-daemon.ts does (by its pid, unmounting what it left), and
 * deletes that interface: nothing keeps running and no interface is left.
 * Only one swarm daemon may run at a time (the manager port 127.0.0.1:2377 and
 * docker_gwbridge are the host's): keep swarm tests in as few files as possible.
 */
export async function startSwarmDaemon(): Promise<DockerDaemon> {
  const daemon = await startDockerDaemon();
  try {
    await daemon.cli(['swarm', 'init', '--advertise-addr', '127.0.0.1', '--listen-addr', '127.0.0.1:2377']);
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
