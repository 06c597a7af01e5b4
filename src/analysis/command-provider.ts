import { spawn } from 'node:child_process';
import { formatDuration } from '../config/duration.js';
import { childEnvironment } from '../runtime/child-environment.js';
import { printable, type MeasurementContext, type MeasurementResult, type MetricProvider } from './index.js';

/**
 * A metric from a script: `/bin/sh -c <command>` in its own process group
 * (a timeout kills everything it started, and so does the shell's exit:
 * nothing it started outlives the measurement), with SERVICE, CANARY_RELEASE,
 * STABLE_RELEASE (empty when there is none) and WINDOW_START (epoch ms) in
 * its environment (besides the minimal base of child-environment.ts and the
 * names in `inherit_env`: never the server's secrets). The value is
 *
 * - the parsed JSON of stdout when the command exits 0 and prints JSON
 *   (`echo 0.02` → 0.02, `echo '{"p95": 180}'` → an object): write
 *   conditions such as `result < 0.05` or `result.p95 < 300`;
 * - otherwise `{ exitCode, stdout, stderr }` (trimmed; the output's last
 *   4 KiB): write `result.exitCode == 0` for a pass/fail script.
 *
 * A command that cannot start, is killed by a signal or runs past its
 * timeout is an `{ error }`.
 */
export interface CommandProviderConfig {
  command: string;
  timeoutMs: number;
  /** Working directory; the process's when absent. */
  cwd?: string | undefined;
  /** Names taken from the server's environment besides the minimal base (`inherit_env`). */
  inheritEnv?: readonly string[] | undefined;
}

/** Output kept per stream: enough for a JSON answer or the reason a check failed. */
const OUTPUT_LIMIT_CHARS = 64 * 1024;
const TAIL_CHARS = 4 * 1024;
/** After the shell exits, how long to wait for its pipes to flush before answering. */
const PIPE_FLUSH_MS = 100;

export class CommandProvider implements MetricProvider {
  readonly description: string;

  constructor(private readonly config: CommandProviderConfig) {
    this.description = `command ${config.command}`;
  }

  measure(context: MeasurementContext): Promise<MeasurementResult> {
    const { command, timeoutMs, cwd } = this.config;
    return new Promise<MeasurementResult>((resolve) => {
      let settled = false;
      let stdout = '';
      let stderr = '';
      let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
      let flushTimer: NodeJS.Timeout | undefined;

      const finish = (result: MeasurementResult): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearTimeout(flushTimer);
        context.signal?.removeEventListener('abort', cancel);
        child.stdout?.destroy();
        child.stderr?.destroy();
        resolve(result);
      };
      const finishFromExit = (): void => {
        if (exit === null) return;
        if (exit.signal !== null)
          finish({ error: `killed by ${exit.signal}${tail(stderr) ? `: ${tail(stderr)}` : ''}` });
        else finish(resultOf(exit.code ?? 1, stdout, stderr));
      };

      const child = spawn('/bin/sh', ['-c', command], {
        cwd,
        // The script text is the config's; the values below reach it as data, and the server's secrets do not reach it.
        env: childEnvironment({
          inherit: this.config.inheritEnv ?? [],
          set: {
            SERVICE: context.service,
            CANARY_RELEASE: context.canaryReleaseId,
            STABLE_RELEASE: context.stableReleaseId ?? '',
            WINDOW_START: String(context.windowStart),
          },
        }),
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      const timer = setTimeout(() => {
        killGroup(child.pid);
        finish({ error: `timed out after ${formatDuration(timeoutMs)}${tail(stderr) ? `: ${tail(stderr)}` : ''}` });
      }, timeoutMs);
      const cancel = (): void => {
        killGroup(child.pid);
        finish({ error: 'measurement cancelled' });
      };
      if (context.signal?.aborted) cancel();
      else context.signal?.addEventListener('abort', cancel, { once: true });

      child.stdout?.on('data', (chunk: Buffer) => {
        if (stdout.length < OUTPUT_LIMIT_CHARS) stdout += chunk.toString('utf8');
      });
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr = (stderr + chunk.toString('utf8')).slice(-TAIL_CHARS);
      });
      child.on('error', (error) => finish({ error: `cannot run ${JSON.stringify(command)}: ${error.message}` }));
      child.on('exit', (code, signal) => {
        exit = { code, signal };
        // What the shell left running (`tool &`, a port-forward a script forgot) would outlive every
        // measurement, one more process each interval. Killed here, in the same turn as the exit, while
        // the group id cannot yet belong to anyone else.
        killGroup(child.pid);
        // A background process the command left behind can hold the pipes open; do not wait for it.
        flushTimer = setTimeout(finishFromExit, PIPE_FLUSH_MS);
      });
      child.on('close', finishFromExit);
    });
  }
}

function resultOf(exitCode: number, stdout: string, stderr: string): MeasurementResult {
  const printed = stdout.trim();
  if (exitCode === 0 && printed !== '') {
    try {
      return { value: JSON.parse(printed) as unknown, message: `stdout: ${tail(printed)}` };
    } catch {
      // Not JSON: the exit status is the answer.
    }
  }
  return {
    value: { exitCode, stdout: printed.slice(-TAIL_CHARS), stderr: stderr.trim() },
    message: `exit ${exitCode}${tail(stderr) ? `: ${tail(stderr)}` : ''}`,
  };
}

/** The end of an output stream, for a message: the command's bytes are not the terminal's business. */
function tail(text: string): string {
  const trimmed = printable(text.trim());
  return trimmed.length > 200 ? `...${trimmed.slice(-197)}` : trimmed;
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}
