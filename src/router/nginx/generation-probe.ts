import { request } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { CONTROL_HOST, GENERATION_PATH } from './render-nginx-config.js';

/** Between two probes of the generation while a reload takes effect. */
const PROBE_INTERVAL_MS = 25;

/**
 * Polls cutover's control server until it answers `generation`, or until the
 * deadline. Each probe opens a new connection (no agent): a kept-alive one
 * could be held by a worker of the previous generation, and only new
 * connections prove the new workers accept. Returns the last answer seen (or
 * the last error) for the failure message.
 */
export async function waitForGeneration(
  listen: { host: string; port: number },
  generation: string,
  deadline: number,
): Promise<{ ok: true } | { ok: false; lastSeen: string }> {
  let lastSeen = 'no answer';
  while (performance.now() < deadline) {
    try {
      const answer = await fetchGeneration(listen, Math.max(1, deadline - performance.now()));
      if (answer === generation) return { ok: true };
      lastSeen = `generation ${answer}`;
    } catch (error) {
      lastSeen = error instanceof Error ? error.message : String(error);
    }
    await delay(PROBE_INTERVAL_MS);
  }
  return { ok: false, lastSeen };
}

function fetchGeneration(listen: { host: string; port: number }, timeoutMs: number): Promise<string> {
  const host = listen.host === '0.0.0.0' ? '127.0.0.1' : listen.host === '::' ? '::1' : listen.host;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host,
        port: listen.port,
        path: GENERATION_PATH,
        headers: { host: CONTROL_HOST },
        agent: false,
        timeout: timeoutMs,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () =>
          res.statusCode === 200 ? resolve(body.trim()) : reject(new Error(`status ${res.statusCode}`)),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}
