import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AdminClient } from '../../src/cli/admin-client.js';
import { parseConfig } from '../../src/config/load-config.js';
import { findFreePort } from '../../src/runtime/process/free-port.js';
import { startServer, type RunningServer } from '../../src/server/start-server.js';
import { silentLogger } from './cutover-harness.js';
import type { DockerDaemon } from './docker-daemon.js';

/**
 * A cutover server whose services run on the test's own Docker daemon
 * (server.docker_host points at its socket), on free loopback ports. The
 * services are YAML written by the test, one docker service per entry.
 */
export interface DockerHarness {
  dir: string;
  configFile: string;
  adminPort: number;
  server: RunningServer;
  client: AdminClient;
  proxyUrl: string;
  close(): Promise<void>;
}

export interface DockerServiceYaml {
  name: string;
  /** YAML lines of the service below its name (indented by the harness). */
  body: string;
}

/** A docker service of the sample image: pull never (there is no registry), host networking, quick health checks. */
export function sampleService(name: string, settings: string): DockerServiceYaml {
  return {
    name,
    body: `hosts: [${name}.localhost]
runtime: docker
image: cutover-sample:\${VERSION}
pull: never
health: { path: /health, interval: 200ms, timeout: 1s, unhealthy_threshold: 2, start_period: 5s }
stop_grace_period: 3s
drain_timeout: 2s
${settings}`,
  };
}

export function dockerConfigYaml(
  daemon: DockerDaemon,
  dir: string,
  ports: { proxy: number; admin: number },
  services: DockerServiceYaml[],
  topLevelYaml = '',
  /** More keys of `server:` (e.g. `swarm:`), unindented. */
  serverYaml = '',
): string {
  const indent = (text: string): string =>
    text
      .trim()
      .split('\n')
      .map((line) => `    ${line}`)
      .join('\n');
  return `server:
  proxy: 127.0.0.1:${ports.proxy}
  admin: 127.0.0.1:${ports.admin}
  state_dir: ${path.join(dir, 'state')}
  docker_host: ${daemon.host}
  proxy_workers: 1
${serverYaml ? `${indentBy(serverYaml, '  ')}\n` : ''}services:
${services.map((s) => `  ${s.name}:\n${indent(s.body)}`).join('\n')}
${topLevelYaml}`;
}

export async function startDockerHarness(
  daemon: DockerDaemon,
  services: DockerServiceYaml[],
  topLevelYaml = '',
  serverYaml = '',
): Promise<DockerHarness> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-docker-test-'));
  const proxyPort = await findFreePort();
  const adminPort = await findFreePort();
  const configFile = path.join(dir, 'cutover.yaml');
  fs.writeFileSync(
    configFile,
    dockerConfigYaml(daemon, dir, { proxy: proxyPort, admin: adminPort }, services, topLevelYaml, serverYaml),
  );
  const config = parseConfig(fs.readFileSync(configFile, 'utf8'), configFile, { env: {} });
  const server = await startServer(config, { logger: silentLogger, env: {} });
  return {
    dir,
    configFile,
    adminPort,
    server,
    client: new AdminClient({ url: server.adminUrl, token: server.token }),
    proxyUrl: server.proxyUrl,
    async close() {
      await server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function indentBy(text: string, prefix: string): string {
  return text
    .trimEnd()
    .split('\n')
    .map((line) => `${prefix}${line}`)
    .join('\n');
}
