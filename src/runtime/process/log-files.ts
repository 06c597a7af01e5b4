import { writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { ensurePrivateDir, openPrivateFile } from '../../store/private-files.js';

/** `<logDir>/<service>/<releaseId>/<slot>-<index>.log`: one file per instance, kept with its release. */
export function instanceLogPath(
  logDir: string,
  instance: { service: string; releaseId: string; slot: string; index: number },
): string {
  return path.join(logDir, instance.service, instance.releaseId, `${instance.slot}-${instance.index}.log`);
}

/**
 * Opens the log for appending and returns the fd, to be given to the child as
 * its stdout and stderr. The child writes to the file directly, so its output
 * is kept even when the controller dies (no pipe through our process).
 * Apps print secrets by mistake: the log is 0600 in a 0700 directory.
 */
export function openInstanceLog(logPath: string, header: string): number {
  ensurePrivateDir(path.dirname(logPath));
  const fd = openPrivateFile(logPath, 'a');
  writeSync(fd, `${header}\n`);
  return fd;
}

/** Bytes read from the end of a log to find its last lines; an error message needs a few lines, not the file. */
const TAIL_WINDOW_BYTES = 64 * 1024;

/** The last `lines` lines of a file, or '' when it does not exist. */
export async function tailFile(filePath: string, lines: number): Promise<string> {
  return (await tailLines(filePath, lines)).map((l) => l.text).join('\n');
}

/**
 * The last `lines` lines of a file, each with the byte offset where it ends (past its newline), so that a reader
 * can date it (log-clock.ts); [] when the file does not exist.
 */
export async function tailLines(filePath: string, lines: number): Promise<{ text: string; end: number }[]> {
  if (lines <= 0) return [];
  let handle;
  try {
    handle = await open(filePath, 'r');
  } catch {
    return [];
  }
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, TAIL_WINDOW_BYTES);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    const all: { text: string; end: number }[] = [];
    let start = 0;
    while (start < length) {
      const newline = buffer.indexOf(10, start);
      const stop = newline === -1 ? length : newline;
      all.push({
        text: buffer.toString('utf8', start, stop),
        end: size - length + (newline === -1 ? length : newline + 1),
      });
      start = stop + 1;
    }
    if (size > length) all.shift(); // the first line of the window is probably cut
    return all.slice(-lines);
  } finally {
    await handle.close();
  }
}

/**
 * The last lines of an instance's log: the file the runtime recorded for it,
 * else `<logDir>/<id>.log`. An id from outside (an API call) must not read
 * files outside the log directory, so such a path answers ''.
 */
export function tailInstanceLog(
  logDir: string,
  known: string | undefined,
  instanceId: string,
  lines: number,
): Promise<string> {
  const logPath = known ?? path.resolve(logDir, `${instanceId}.log`);
  if (!known && !logPath.startsWith(logDir + path.sep)) return Promise.resolve('');
  return tailFile(logPath, lines);
}
