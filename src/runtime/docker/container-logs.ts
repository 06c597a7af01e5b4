import { createWriteStream, statSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { ensurePrivateDir, PRIVATE_FILE_MODE, tightenIfPresent } from '../../store/private-files.js';
import type Docker from 'dockerode';

/**
 * Copies a container's output into its instance log file, the one `cutover
 * logs` reads, following it until the container stops. Docker keeps the
 * output too (json-file driver), so after a controller restart the copy goes
 * on from the log file's last modification, with at most a second of lines
 * written twice and none lost.
 */
export interface LogCopy {
  /** Resolves when the container's output has ended and everything is written (or after `timeoutMs`). */
  finished(timeoutMs: number): Promise<void>;
  stop(): void;
}

export function logSince(logPath: string): number {
  try {
    return Math.floor(statSync(logPath).mtimeMs / 1000);
  } catch {
    return 0;
  }
}

export function copyContainerLogs(
  docker: Docker,
  container: Docker.Container,
  logPath: string,
  header: string | null,
  since: number,
): Promise<LogCopy> {
  return copyLogStream(
    docker,
    () => container.logs({ follow: true, stdout: true, stderr: true, since }),
    logPath,
    header,
  );
}

/**
 * An instance's log file opened for a copy of its output (owner-only, as the
 * state dir), appended to, with the header line first; `closed` settles once
 * the copy has ended it. Shared by the container, task and pod copies.
 */
export function openInstanceLog(logPath: string, header: string | null): { file: WriteStream; closed: Promise<void> } {
  ensurePrivateDir(path.dirname(logPath));
  tightenIfPresent(logPath);
  const file = createWriteStream(logPath, { flags: 'a', mode: PRIVATE_FILE_MODE });
  if (header !== null) file.write(`${header}\n`);
  const closed = new Promise<void>((resolve) => file.once('close', () => resolve()));
  return { file, closed };
}

/**
 * The same copy from any multiplexed log stream of the Engine API: a
 * container's, or a Swarm task's (`/tasks/{id}/logs`, which the manager
 * gathers from whichever node runs the task).
 */
export async function copyLogStream(
  docker: Docker,
  open: () => Promise<NodeJS.ReadableStream>,
  logPath: string,
  header: string | null,
): Promise<LogCopy> {
  const { file, closed } = openInstanceLog(logPath, header);
  let stream: NodeJS.ReadableStream;
  try {
    stream = await open();
  } catch (error) {
    file.end();
    throw error;
  }
  // Without a TTY the stream interleaves stdout and stderr in frames; both go to the one file, as with the process runtime.
  docker.modem.demuxStream(stream, file, file);
  const end = (): void => {
    if (!file.writableEnded) file.end();
  };
  stream.on('end', end);
  stream.on('close', end);
  stream.on('error', end);
  return {
    finished: (timeoutMs) => closedWithin(closed, timeoutMs),
    stop: () => {
      (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
      end();
    },
  };
}

/** LogCopy.finished: resolves when the log file has closed, or after `timeoutMs`, whichever comes first. */
export function closedWithin(closed: Promise<void>, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
  });
  return Promise.race([closed, timeout]).finally(() => clearTimeout(timer));
}
