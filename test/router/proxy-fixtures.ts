import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { ServiceRoute, Upstream } from '../../src/router/index.js';

/**
 * Real servers for the proxy tests: the sample app as a child process, and a
 * port with nothing listening on it. No test in this folder mocks a socket.
 */
const SAMPLE_APP = fileURLToPath(new URL('../../../examples/sample-app/server.js', import.meta.url));

export interface SampleApp {
  version: string;
  port: number;
  upstream(id: string): Upstream;
  stop(): Promise<void>;
}

export function startSampleApp(version: string): Promise<SampleApp> {
  return startAppProcess(SAMPLE_APP, version, { ...process.env });
}

/**
 * A Node script of examples/ as an instance on a free port (PORT, HOST, APP_VERSION in `env`), ready once it
 * prints "listening"; stopped with SIGKILL, as a crash would.
 */
export async function startAppProcess(script: string, version: string, env: NodeJS.ProcessEnv): Promise<SampleApp> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [script], {
    env: { ...env, PORT: String(port), APP_VERSION: version, HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`${script} ${version} did not start: ${output}`)), 15_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('listening')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} ${version} exited with ${code}: ${output}`));
    });
  });
  return {
    version,
    port,
    upstream: (id) => ({ id, host: '127.0.0.1', port }),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** A port that was free a moment ago (the OS picks it; the window for a race is tiny). */
export async function freePort(): Promise<number> {
  const server: Server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  server.close();
  await once(server, 'close');
  return port;
}

export function route(
  service: string,
  hosts: string[],
  releaseId: string,
  upstreams: Upstream[],
  options: { default?: boolean; version?: string } = {},
): ServiceRoute {
  return {
    service,
    hosts,
    default: options.default ?? false,
    target: { releaseId, version: options.version ?? releaseId, slot: 'blue', upstreams },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
