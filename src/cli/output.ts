import { CutoverError } from '../core/errors.js';
import { EXIT, exitCodeOfError, type ExitCode } from './exit-codes.js';

/** Colour only on a TTY and never when NO_COLOR is set (https://no-color.org). */
const colour = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
const paint =
  (code: number) =>
  (text: string): string =>
    colour ? `\u001b[${code}m${text}\u001b[0m` : text;
export const green = paint(32);
export const red = paint(31);
export const yellow = paint(33);
export const dim = paint(2);
export const bold = paint(1);

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Prints an error the way every command does: message, then the hint for the next step. Returns the exit code (exit-codes.ts). */
export function reportError(error: unknown, json: boolean): ExitCode {
  const e =
    error instanceof CutoverError ? error : new CutoverError('INTERNAL', (error as Error)?.message ?? String(error));
  if (json) {
    printJson({ error: e.toJSON() });
  } else {
    process.stderr.write(`${red('error')} ${e.code}: ${e.message}\n`);
    if (e.hint) process.stderr.write(`${dim('hint:')} ${e.hint}\n`);
  }
  return exitCodeOfError(e.code);
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} m ${Math.round((ms % 60_000) / 1000)} s`;
}

export function formatTime(epochMs: number | null): string {
  return epochMs === null ? '-' : new Date(epochMs).toISOString().replace('T', ' ').slice(0, 19);
}

/**
 * A reader that stops early (`cutover logs web | head -5`, `cutover doctor | head -1`) closes the pipe: the next
 * write fails with EPIPE, which Node raises as an 'error' event nobody listens to, hence a stack trace. git and ls
 * die of SIGPIPE there, silently (status 141 under `set -o pipefail`); Node ignores SIGPIPE, so the CLI ends here,
 * as quietly, and with 0: the reader had what it asked for, and a script's `set -o pipefail` must not fail on
 * `| head`. Whatever was running on the server (a deploy being followed) goes on, as when the CLI is interrupted.
 * Installed once for every command; any other write error keeps failing loudly.
 */
export function endQuietlyWhenOutputCloses(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(EXIT.OK);
      throw error;
    });
  }
}
