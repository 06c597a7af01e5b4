import net from 'node:net';
import { checkAttempt } from './check-attempt.js';
import type { CheckResult, CheckTarget } from './index.js';
import { describeSocketError, nothingListens } from './http-check.js';

/** One TCP health check: healthy when a connection opens within the timeout. Never throws. */
export function tcpCheck(target: CheckTarget, config: { timeoutMs: number }): Promise<CheckResult> {
  return checkAttempt(
    { ms: config.timeoutMs, detail: `connect timed out after ${config.timeoutMs} ms` },
    ({ finish, elapsed }) => {
      const socket = net.connect({ host: target.host, port: target.port });
      socket.on('connect', () => finish(true, `connected in ${elapsed()} ms`));
      socket.on('error', (error: NodeJS.ErrnoException) =>
        finish(false, describeSocketError(error), !nothingListens(error)),
      );
      return () => socket.destroy();
    },
  );
}
