import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';

/**
 * Size-based rotation of the instance logs under <state_dir>/logs, for every
 * runtime. The app writes its log through its own fd (stdout and stderr are
 * the file, so instances outlive the controller) and cannot be told to reopen
 * it, so rotation is copytruncate: the file is copied to <log>.1 (older ones
 * shift to .2 ... .keep, the oldest is dropped) and truncated in place. The
 * fd is O_APPEND, so the app's next write lands at the new end, not at its old
 * offset (no sparse file). Lines written between the copy and the truncation
 * are lost: the copy catches up once before truncating, which narrows that to
 * the few microseconds between the last read and the truncate.
 */
export function rotateLog(logPath: string, keep: number): void {
  if (keep > 0) {
    fs.rmSync(`${logPath}.${keep}`, { force: true });
    for (let i = keep - 1; i >= 1; i--) {
      try {
        fs.renameSync(`${logPath}.${i}`, `${logPath}.${i + 1}`);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
    // copyFile keeps the source's mode (0600).
    fs.copyFileSync(logPath, `${logPath}.1`);
    catchUp(logPath, `${logPath}.1`);
  }
  fs.truncateSync(logPath, 0);
}

/** Appends to `copy` what the app wrote to `source` while it was being copied. */
function catchUp(source: string, copy: string): void {
  const copied = fs.statSync(copy).size;
  const size = fs.statSync(source).size;
  if (size <= copied) return;
  const from = fs.openSync(source, 'r');
  const to = fs.openSync(copy, 'a');
  try {
    const buffer = Buffer.alloc(size - copied);
    const read = fs.readSync(from, buffer, 0, buffer.length, copied);
    fs.writeSync(to, buffer, 0, read);
  } finally {
    fs.closeSync(from);
    fs.closeSync(to);
  }
}

/** Rotates every `*.log` under `logDir` larger than `maxBytes`; returns the rotated paths. */
export function rotateLogsUnder(logDir: string, maxBytes: number, keep: number): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(logDir, { recursive: true }) as string[];
  } catch {
    return [];
  }
  const rotated: string[] = [];
  for (const name of names) {
    if (!name.endsWith('.log')) continue;
    const file = path.join(logDir, name);
    try {
      const stat = fs.statSync(file);
      if (!stat.isFile() || stat.size <= maxBytes) continue;
      rotateLog(file, keep);
      rotated.push(file);
    } catch (error) {
      // A release's directory removed by a prune meanwhile: nothing left to rotate.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return rotated;
}

/** Checks the logs' sizes every `intervalMs` (a stat per file: cheap) until stopped. */
export function startLogRotation(options: {
  logDir: string;
  maxBytes: number;
  keep: number;
  intervalMs?: number;
  logger?: Logger;
}): { stop(): void } {
  const timer = setInterval(() => {
    try {
      for (const file of rotateLogsUnder(options.logDir, options.maxBytes, options.keep))
        options.logger?.info({ file, keep: options.keep }, 'instance log rotated');
    } catch (error) {
      options.logger?.warn({ err: error, logDir: options.logDir }, 'instance log rotation failed');
    }
  }, options.intervalMs ?? 2_000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/** Deletes the logs of a release (after a prune: it can never run again). */
export function removeReleaseLogs(logDir: string, service: string, releaseId: string): void {
  const dir = path.resolve(logDir, service, releaseId);
  // Ids come from the store, but a path outside the log directory is never removed.
  if (!dir.startsWith(path.resolve(logDir) + path.sep)) return;
  fs.rmSync(dir, { recursive: true, force: true });
}
