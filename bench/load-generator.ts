import os from 'node:os';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { estimatePercentile, LatencyHistogram } from '../src/core/latency-histogram.js';

/**
 * The load client of the benchmark: wrk when installed (fixed duration,
 * keep-alive, one thread), else a small undici-based client run in a child
 * process so it does not share the proxy's event loop. The two do not give
 * comparable absolute figures; the report says which one ran.
 */
export interface LoadResult {
  tool: 'wrk' | 'undici-fallback';
  requests: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Non-2xx/3xx responses plus socket errors (connect, read, write, timeout). */
  errors: number;
}

export interface LoadOptions {
  url: string;
  connections: number;
  durationSeconds: number;
  /** Sent as the Host header. */
  host?: string;
}

export function wrkAvailable(): boolean {
  return spawnSync('wrk', ['--version'], { stdio: 'ignore' }).error === undefined;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  return wrkAvailable() ? runWrk(options) : runFallback(options);
}

async function runWrk({ url, connections, durationSeconds, host }: LoadOptions): Promise<LoadResult> {
  const args = [
    '-t1',
    `-c${connections}`,
    `-d${durationSeconds}s`,
    '--latency',
    ...(host ? ['-H', `Host: ${host}`] : []),
    url,
  ];
  const output = await capture('wrk', args);
  return parseWrkOutput(output);
}

/** Parses wrk's text report (wrk 4.x with --latency). */
export function parseWrkOutput(output: string): LoadResult {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(output);
  const total = /(\d+) requests in/.exec(output);
  if (!rps || !total) throw new Error(`could not read wrk output:\n${output}`);
  const percentile = (p: string): number => {
    const match = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s)\\s*$`, 'm').exec(output);
    return match ? toMs(Number(match[1]), match[2] as string) : Number.NaN;
  };
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const socketErrors = socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0;
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(output);
  return {
    tool: 'wrk',
    requests: Number(total[1]),
    requestsPerSecond: Number(rps[1]),
    p50Ms: percentile('50'),
    p99Ms: percentile('99'),
    errors: socketErrors + (non2xx ? Number(non2xx[1]) : 0),
  };
}

function toMs(value: number, unit: string): number {
  if (unit === 'us') return value / 1000;
  if (unit === 's') return value * 1000;
  return value;
}

async function runFallback(options: LoadOptions): Promise<LoadResult> {
  const self = fileURLToPath(import.meta.url);
  const output = await capture(process.execPath, [self, JSON.stringify(options)]);
  return JSON.parse(output) as LoadResult;
}

function capture(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    pinToLoadCore(child.pid);
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve(output) : reject(new Error(`${command} exited with ${code}:\n${output}`)),
    );
  });
}

/** The fallback client itself: `node load-generator.js '<LoadOptions JSON>'` prints a LoadResult. */
async function fallbackMain(options: LoadOptions): Promise<void> {
  const target = new URL(options.url);
  const pool = new Pool(target.origin, { connections: options.connections, pipelining: 1 });
  const histogram = new LatencyHistogram([0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 7.5, 10, 15, 25, 50, 100, 250, 1000]);
  const endsAt = performance.now() + options.durationSeconds * 1000;
  let errors = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < endsAt) {
      const startedAt = performance.now();
      try {
        const response = await pool.request({
          path: target.pathname + target.search,
          method: 'GET',
          headers: options.host ? { host: options.host } : {},
        });
        await response.body.dump();
        if (response.statusCode >= 400) errors++;
      } catch {
        errors++;
      }
      histogram.record(performance.now() - startedAt);
    }
  };
  await Promise.all(Array.from({ length: options.connections }, worker));
  await pool.close();
  const snapshot = histogram.snapshot();
  const result: LoadResult = {
    tool: 'undici-fallback',
    requests: snapshot.count,
    requestsPerSecond: snapshot.count / options.durationSeconds,
    p50Ms: estimatePercentile(snapshot, 0.5),
    p99Ms: estimatePercentile(snapshot, 0.99),
    errors,
  };
  process.stdout.write(JSON.stringify(result));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await fallbackMain(JSON.parse(process.argv[2] ?? '{}') as LoadOptions);
}

/**
 * BENCH_PIN=1: the proxy under test (the bench process, and nginx which it
 * starts) runs on CPU 0, the sample apps and the load generator on CPU 1, so
 * each proxy has one core of its own and the two are compared on equal terms.
 */
export function pinToLoadCore(pid: number | undefined): void {
  if (process.env.BENCH_PIN !== '1' || pid === undefined) return;
  spawnSync('taskset', ['-p', '-c', '1', String(pid)], { stdio: 'ignore' });
}

/**
 * BENCH_PIN=1: a proxy measured with two workers may use every core (it
 * shares CPU 1 with the load generator, as its nginx counterpart does); one
 * worker stays on CPU 0 like the rest of the proxy under test.
 */
export function unpinProxy(pids: readonly number[]): void {
  if (process.env.BENCH_PIN !== '1') return;
  const all = `0-${Math.max(0, os.cpus().length - 1)}`;
  for (const pid of pids) spawnSync('taskset', ['-a', '-p', '-c', all, String(pid)], { stdio: 'ignore' });
}
