import path from 'node:path';
import type { HaproxyRouterConfig } from '../config/types.js';
import { haproxyErrorLine, runHaproxy, runningMasterPid } from '../router/haproxy/haproxy-process.js';
import { HaproxyRuntimeApi } from '../router/haproxy/haproxy-runtime-api.js';
import type { CheckResult } from './check-result.js';

/** The oldest HAProxy whose Runtime API adds and deletes servers (`add server`, `del server`). */
const MINIMUM = [2, 6] as const;

/**
 * `router: haproxy`: the program runs and is 2.6 or later; and whether an
 * HAProxy of an earlier run still serves (cutover adopts it at start, so
 * the proxy address being taken by it is expected). `running` tells the
 * caller to skip the free-port check.
 */
export async function checkHaproxy(
  haproxy: HaproxyRouterConfig,
  stateDir: string,
): Promise<{ result: CheckResult; running: boolean }> {
  const id = 'router.haproxy';
  const version = await runHaproxy(haproxy.binary, ['-v']);
  if (version.code !== 0) {
    return {
      running: false,
      result: {
        id,
        status: 'fail',
        message: `cannot run ${haproxy.binary}: ${haproxyErrorLine(version.stderr)}`,
        fix: 'Install HAProxy 2.6 or later (apt-get install haproxy), or point server.haproxy.binary at it.',
      },
    };
  }
  const found = /HAProxy version (\d+)\.(\d+)(\S*)/.exec(version.stdout);
  const major = Number(found?.[1] ?? 0);
  const minor = Number(found?.[2] ?? 0);
  if (major < MINIMUM[0] || (major === MINIMUM[0] && minor < MINIMUM[1])) {
    return {
      running: false,
      result: {
        id,
        status: 'fail',
        message: `${haproxy.binary} is ${found === null ? 'of an unknown version' : `HAProxy ${major}.${minor}`}; the router needs 2.6 or later (add server / del server at runtime)`,
        fix: 'Install HAProxy 2.6 or later, or point server.haproxy.binary at it.',
      },
    };
  }
  const label = `HAProxy ${major}.${minor}${found?.[3] ?? ''}`;
  const dir = path.join(stateDir, 'haproxy');
  const pid = runningMasterPid(path.join(dir, 'haproxy.pid'));
  if (pid !== null) {
    try {
      await new HaproxyRuntimeApi({ socketPath: path.join(dir, 'haproxy.sock'), timeoutMs: 2_000 }).showInfo();
      return {
        running: true,
        result: {
          id,
          status: 'ok',
          message: `${label}; cutover's HAProxy runs (pid ${pid}) and its Runtime API answers`,
        },
      };
    } catch (error) {
      return {
        running: true,
        result: {
          id,
          status: 'fail',
          message: `cutover's HAProxy runs (pid ${pid}) but its Runtime API does not answer: ${error instanceof Error ? error.message : String(error)}`,
          fix: `Stop it (kill ${pid}); cutover starts a new one.`,
        },
      };
    }
  }
  return { running: false, result: { id, status: 'ok', message: `${label}; cutover starts it with the server` } };
}
