import fs from 'node:fs';
import type { FastifyReply } from 'fastify';
import { tailFile } from '../runtime/process/log-files.js';
import { releaseLogFiles } from '../runtime/process/release-log-files.js';

/** Which release the lines come from, for the JSON form. */
export interface LogSource {
  service: string;
  releaseId: string;
  version: string;
  slot: string;
}

/**
 * Streams a release's instance logs as plain text, each line prefixed with
 * the instance (`[green-0] ...`), or with `json` as JSON lines (one object a
 * line: instance, release, version, slot, line; the files keep no time, so
 * none is given). With follow, new lines are sent as they are written until
 * the client goes away (like `tail -f`).
 */
export async function sendReleaseLogs(
  reply: FastifyReply,
  logDir: string,
  source: LogSource,
  lines: number,
  follow: boolean,
  json = false,
): Promise<void> {
  const { service, releaseId } = source;
  const files = releaseLogFiles(logDir, service, releaseId);
  reply.raw.writeHead(200, {
    'content-type': json ? 'application/x-ndjson; charset=utf-8' : 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
  });
  const format = (instance: string, line: string): string =>
    json
      ? `${JSON.stringify({ service, instance, release: releaseId, version: source.version, slot: source.slot, line })}\n`
      : `[${instance}] ${line}\n`;
  const offsets = new Map<string, number>();
  for (const file of files) {
    const tail = await tailFile(file.path, lines);
    if (tail)
      reply.raw.write(
        tail
          .split('\n')
          .map((l) => format(file.name, l))
          .join(''),
      );
    offsets.set(file.path, fs.statSync(file.path).size);
  }
  if (!follow) {
    reply.raw.end();
    return;
  }
  const partial = new Map<string, string>();
  const poll = (): void => {
    for (const file of releaseLogFiles(logDir, service, releaseId)) {
      let size: number;
      try {
        size = fs.statSync(file.path).size;
      } catch {
        continue;
      }
      // Smaller than what was read: rotated (copied to .1 and truncated); read the new content from its start.
      const from = size < (offsets.get(file.path) ?? 0) ? 0 : (offsets.get(file.path) ?? 0);
      if (size <= from) continue;
      const fd = fs.openSync(file.path, 'r');
      const buffer = Buffer.alloc(size - from);
      fs.readSync(fd, buffer, 0, buffer.length, from);
      fs.closeSync(fd);
      offsets.set(file.path, size);
      const text = (partial.get(file.path) ?? '') + buffer.toString('utf8');
      const parts = text.split('\n');
      partial.set(file.path, parts.pop() ?? '');
      if (parts.length) reply.raw.write(parts.map((l) => format(file.name, l)).join(''));
    }
  };
  const timer = setInterval(poll, 250);
  reply.raw.on('close', () => clearInterval(timer));
}
