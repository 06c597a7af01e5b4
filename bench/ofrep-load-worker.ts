import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { Pool } from 'undici';

/**
 * The load side of ofrep-bench.ts, in a worker thread so the client's event
 * loop is not the server's: `connections` loops, each sending one OFREP bulk
 * request at a time for `seconds`, and the latency of every request (ms).
 */
interface Job {
  url: string;
  token: string;
  connections: number;
  seconds: number;
  /** Send If-None-Match with the first answer's ETag (the 304 path), with one user for all requests. */
  revalidate: boolean;
}

const job = workerData as Job;
const origin = new URL(job.url).origin;
const pool = new Pool(origin, { connections: job.connections });
const latencies: number[] = [];
let statuses: Record<number, number> = {};
let etag: string | null = null;

async function once(user: number): Promise<void> {
  const headers: Record<string, string> = {
    authorization: `Bearer ${job.token}`,
    'content-type': 'application/json',
  };
  if (job.revalidate && etag !== null) headers['if-none-match'] = etag;
  const started = performance.now();
  const response = await pool.request({
    path: new URL(job.url).pathname,
    method: 'POST',
    headers,
    body: JSON.stringify({ context: { targetingKey: `user-${user}`, country: 'DE', plan: 'free' } }),
  });
  await response.body.text();
  latencies.push(performance.now() - started);
  statuses[response.statusCode] = (statuses[response.statusCode] ?? 0) + 1;
  if (job.revalidate && etag === null) etag = String(response.headers.etag);
}

async function loop(index: number, until: number): Promise<void> {
  let user = index * 1_000_000;
  while (performance.now() < until) await once(job.revalidate ? 0 : user++);
}

// A short warm-up, not counted.
await Promise.all(Array.from({ length: job.connections }, (_, i) => loop(i, performance.now() + 1_000)));
latencies.length = 0;
statuses = {};
const started = performance.now();
await Promise.all(Array.from({ length: job.connections }, (_, i) => loop(i, started + job.seconds * 1000)));
const elapsed = (performance.now() - started) / 1000;
await pool.close();
parentPort!.postMessage({ latencies, elapsed, statuses });
