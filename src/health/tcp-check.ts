import net from 'node:net';
import type { CheckResult, CheckTarget } from './index.js';
import { describeSocketError, nothingListens } from './http-check.js';

/** One TCP health check: healthy when a connection opens within the timeout. Never throws. */
export function tcpCheck(target: CheckTarget, config: { timeoutMs: number }): Promise<CheckResult> {
  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started);

  return new Promise<CheckResult>((resolve) => {
    let settled = false;
    const finish = (ok: boolean, detail: string, answered = true): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ok, detail, durationMs: elapsed(), ...(answered ? {} : { answered: false }) });
    };

    const socket = net.connect({ host: target.host, port: target.port });
    const timer = setTimeout(() => finish(false, `connect timed out after ${config.timeoutMs} ms`), config.timeoutMs);
    socket.on('connect', () => finish(true, `connected in ${elapsed()} ms`));
    socket.on('error', (error: NodeJS.ErrnoException) =>
      finish(false, describeSocketError(error), !nothingListens(error)),
    );
  });
}
