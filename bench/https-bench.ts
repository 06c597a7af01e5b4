import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { connectOrStartProxy } from '../src/router/proxy-process/proxy-process-launcher.js';
import { proxyProcessOptions } from '../src/router/proxy-process/proxy-process-options.js';
import { findFreePort } from '../src/runtime/process/free-port.js';
import { TestCertificateAuthority } from '../test/support/test-certificates.js';
import { startNginx, type RunningNginx } from './nginx-proxy.js';
import { processCpuMs } from './process-cpu.js';

/**
 * HTTPS at the edge: TLS handshakes per second and kept-alive HTTPS
 * requests per second through the embedded proxy (the proxy process, one
 * worker) next to nginx (one worker), with the same P-256 certificate, in
 * front of the same sample app, in the same run.
 *
 *   npm run build && node dist/bench/https-bench.js
 *   BENCH_SECONDS=3 node dist/bench/https-bench.js     (a quick look)
 *
 * The load comes from this process, on the same machine: on 2 cores the
 * generator competes with the proxy, so the figures compare the two
 * proxies under the same handicap rather than give either one's ceiling.
 * Loopback only; every phase bounded in time.
 */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const HANDSHAKE_CONCURRENCY = 16;
const CONNECTIONS = 32;
const HOST = 'bench.test';
const SAMPLE_APP = fileURLToPath(new URL('../../examples/sample-app/server.js', import.meta.url));

interface Target {
  name: string;
  port: number;
  /** The same proxy's plain HTTP port: the TLS cost is the difference, measured in the same run. */
  plainPort: number;
  /** CPU ms the proxy's processes used so far. */
  cpuMs(): number;
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-https-bench-'));
  const ca = TestCertificateAuthority.create(path.join(dir, 'ca'));
  const leaf = ca.issue([HOST]);
  const appPort = await findFreePort();
  const app = spawn(process.execPath, [SAMPLE_APP], {
    env: { PORT: String(appPort), HOST: '127.0.0.1', APP_VERSION: 'bench', PATH: process.env.PATH ?? '' },
    stdio: 'ignore',
  });
  let nginx: RunningNginx | null = null;
  const httpsPort = await findFreePort();
  const plainPort = await findFreePort();
  const proxy = await connectOrStartProxy({
    stateDir: path.join(dir, 'proxy'),
    options: proxyProcessOptions(
      { host: '127.0.0.1', port: plainPort, https: { host: '127.0.0.1', port: httpsPort } },
      1,
      'bench',
    ),
  });
  try {
    await waitFor(`http://127.0.0.1:${appPort}/health`);
    await proxy.setRoute({
      service: 'bench',
      hosts: [HOST],
      default: false,
      target: {
        releaseId: 'r1',
        version: 'bench',
        slot: 'blue',
        upstreams: [{ id: 'app-0', host: '127.0.0.1', port: appPort }],
      },
      tls: { certificates: [{ hosts: [HOST], certPem: leaf.certPem, keyPem: leaf.keyPem }] },
    });
    const nginxPort = await findFreePort();
    const nginxPlainPort = await findFreePort();
    const nginxDir = path.join(dir, 'nginx');
    fs.mkdirSync(nginxDir);
    nginx = await startNginx(nginxDir, nginxPlainPort, appPort, 1, {
      port: nginxPort,
      cert: leaf.certFile,
      key: leaf.keyFile,
    });
    const proxyPids = [proxy.proxy.pid, ...proxy.proxy.workerPids];
    const nginxWorkers = childPidsOf(nginx.pid);
    const targets: Target[] = [
      { name: 'cutover proxy process, 1 worker', port: httpsPort, plainPort, cpuMs: () => sumCpu(proxyPids) },
      {
        name: `nginx ${nginx.version.replace(/^nginx\//, '')}, 1 worker`,
        port: nginxPort,
        plainPort: nginxPlainPort,
        cpuMs: () => sumCpu(nginxWorkers),
      },
    ];
    console.log(
      `HTTPS bench: ${SECONDS} s per phase, P-256 certificate, ${os.cpus().length} cores, load from this process`,
    );
    for (const target of targets) {
      const handshakes = await measureHandshakes(target, ca.caPem);
      const requests = await measureRequests(target, ca.caPem);
      const plain = await measureRequests(target, null);
      console.log(
        `${target.name}: ${handshakes.perSecond.toFixed(0)} handshakes/s (${handshakes.failed} failed, ${handshakes.cpuUs.toFixed(0)} µs proxy CPU each); ` +
          `${requests.perSecond.toFixed(0)} kept-alive HTTPS req/s, p50 ${requests.p50.toFixed(2)} ms, p99 ${requests.p99.toFixed(2)} ms ` +
          `(${requests.failed} failed, ${requests.cpuUs.toFixed(0)} µs proxy CPU each); ` +
          `plain HTTP in the same run: ${plain.perSecond.toFixed(0)} req/s, ${plain.cpuUs.toFixed(0)} µs proxy CPU each`,
      );
    }
  } finally {
    await proxy.close();
    await nginx?.stop();
    app.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Full handshakes (no session resumption), HANDSHAKE_CONCURRENCY at a time, for SECONDS. */
async function measureHandshakes(
  target: Target,
  ca: string,
): Promise<{ perSecond: number; failed: number; cpuUs: number }> {
  let done = 0;
  let failed = 0;
  const cpuBefore = target.cpuMs();
  const started = performance.now();
  const deadline = started + SECONDS * 1000;
  const loop = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const ok = await new Promise<boolean>((resolve) => {
        const socket = tls.connect({ host: '127.0.0.1', port: target.port, servername: HOST, ca });
        socket.once('secureConnect', () => {
          socket.destroy();
          resolve(true);
        });
        socket.once('error', () => resolve(false));
      });
      if (ok) done++;
      else failed++;
    }
  };
  await Promise.all(Array.from({ length: HANDSHAKE_CONCURRENCY }, loop));
  const seconds = (performance.now() - started) / 1000;
  return { perSecond: done / seconds, failed, cpuUs: done === 0 ? 0 : ((target.cpuMs() - cpuBefore) * 1000) / done };
}

/** GET / over CONNECTIONS kept-alive connections (TLS with a CA, plain HTTP without), as fast as they answer, for SECONDS. */
async function measureRequests(
  target: Target,
  ca: string | null,
): Promise<{ perSecond: number; p50: number; p99: number; failed: number; cpuUs: number }> {
  const pool =
    ca === null
      ? new Pool(`http://127.0.0.1:${target.plainPort}`, { connections: CONNECTIONS })
      : new Pool(`https://127.0.0.1:${target.port}`, { connections: CONNECTIONS, connect: { ca, servername: HOST } });
  const latencies: number[] = [];
  let failed = 0;
  // Warm the connections first: the handshakes are the other phase's business.
  await Promise.all(Array.from({ length: CONNECTIONS }, () => get(pool)));
  const cpuBefore = target.cpuMs();
  const started = performance.now();
  const deadline = started + SECONDS * 1000;
  const loop = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      if (await get(pool)) latencies.push(performance.now() - t0);
      else failed++;
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, loop));
  const seconds = (performance.now() - started) / 1000;
  await pool.close();
  latencies.sort((a, b) => a - b);
  const at = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return {
    perSecond: latencies.length / seconds,
    p50: at(0.5),
    p99: at(0.99),
    failed,
    cpuUs: latencies.length === 0 ? 0 : ((target.cpuMs() - cpuBefore) * 1000) / latencies.length,
  };
}

async function get(pool: Pool): Promise<boolean> {
  try {
    const response = await pool.request({ method: 'GET', path: '/', headers: { host: HOST } });
    await response.body.dump();
    return response.statusCode === 200;
  } catch {
    return false;
  }
}

function childPidsOf(pid: number): number[] {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function sumCpu(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + (processCpuMs(pid) ?? 0), 0);
}

async function waitFor(url: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const response = await fetch(url);
      await response.body?.cancel();
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`${url} did not answer`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
