import { spawn, type ChildProcess } from 'node:child_process';
import type { CommandHealthCheck } from '../config/types.js';
import { childEnvironment } from '../runtime/child-environment.js';
import { checkAttempt } from './check-attempt.js';
import type { CheckResult, CheckTarget } from './index.js';

const OUTPUT_TAIL_CHARS = 200;
/** After the shell exits, how long to wait for its pipes to flush before answering. */
const PIPE_FLUSH_MS = 100;

/**
 * One command health check: `/bin/sh -c <command>` with PORT, HOST, VERSION,
 * SLOT and INSTANCE in the env (and only the minimal base of the server's own,
 * plus the service's `inherit_env`: see child-environment.ts); exit 0 is healthy. The command runs in its own
 * process group so a timeout kills everything it started, not only the shell.
 * Never throws.
 */
export function commandCheck(
  target: CheckTarget,
  config: { check: CommandHealthCheck; timeoutMs: number },
): Promise<CheckResult> {
  let child: ChildProcess | null = null;
  return checkAttempt(
    {
      ms: config.timeoutMs,
      detail: `timed out after ${config.timeoutMs} ms`,
      onTimeout: () => killGroup(child?.pid),
    },
    ({ finish, elapsed }) => {
      let output = '';
      let exitCode: number | null = null;
      let exitSignal: string | null = null;
      let flushTimer: NodeJS.Timeout | undefined;
      const finishFromExit = (): void => {
        const tail = output.trim().slice(-OUTPUT_TAIL_CHARS);
        if (exitCode === 0) finish(true, `exit 0 in ${elapsed()} ms`);
        else if (exitSignal) finish(false, `killed by ${exitSignal}${tail ? `: ${tail}` : ''}`);
        else finish(false, `exit ${exitCode}${tail ? `: ${tail}` : ''}`);
      };

      // The script text is the config's, never spliced with values: they are read from the environment, as data.
      const spawned = spawn('/bin/sh', ['-c', config.check.command], {
        env: childEnvironment({
          inherit: config.check.inheritEnv,
          set: {
            PORT: String(target.port),
            HOST: target.host,
            VERSION: target.vars.version,
            SLOT: target.vars.slot,
            INSTANCE: target.vars.instance,
          },
        }),
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      child = spawned;

      // Keep only the tail: stderr usually says why, stdout is the fallback.
      const collect = (chunk: Buffer): void => {
        output = (output + chunk.toString('utf8')).slice(-4 * OUTPUT_TAIL_CHARS);
      };
      spawned.stdout?.on('data', collect);
      spawned.stderr?.on('data', collect);
      spawned.on('error', (error) => finish(false, `cannot run check: ${error.message}`));
      spawned.on('exit', (code, signal) => {
        exitCode = code;
        exitSignal = signal;
        // A background process the command left behind can hold the pipes open; do not wait for it.
        flushTimer = setTimeout(finishFromExit, PIPE_FLUSH_MS);
      });
      spawned.on('close', finishFromExit);
      return () => {
        clearTimeout(flushTimer);
        spawned.stdout?.destroy();
        spawned.stderr?.destroy();
      };
    },
  );
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}
