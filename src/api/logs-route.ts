import fs from 'node:fs';
import type { FastifyReply } from 'fastify';
import { tailFile } from '../runtime/process/log-files.js';
import { releaseLogFiles } from '../runtime/process/release-log-files.js';

/**
 * Streams a release's instance logs as plain text, each line prefixed with
 * the instance (`[green-0] ...`). With follow, new lines are sent as they are
 * written until the client goes away (like `tail -f`).
 */
export async function sendReleaseLogs(
  reply: FastifyReply, logDir: string, service: string, releaseId: string, lines: number, follow: boolean,
): Promise<void> {
  const files = releaseLogFiles(logDir, service, releaseId);
  reply.raw.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  const offsets = new Map<string, number>();
  for (const file of files) {
    const tail = await tailFile(file.path, lines);
    if (tail) reply.raw.write(tail.split('\n').map((l) => `[${file.name}] ${l}\n`).join(''));
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
      try { size = fs.statSync(file.path).size; } catch { continue; }
      // Smaller than what was read: rotated (copied to .1 and truncated); read the new content from its start.
      const from = size < (offsets.get(file.path) ?? 0) ? 0 : offsets.get(file.path) ?? 0;
      if (size <= from) continue;
      const fd = fs.openSync(file.path, 'r');
      const buffer = Buffer.alloc(size - from);
      fs.readSync(fd, buffer, 0, buffer.length, from);
      fs.closeSync(fd);
      offsets.set(file.path, size);
      const text = (partial.get(file.path) ?? '') + buffer.toString('utf8');
      const parts = text.split('\n');
      partial.set(file.path, parts.pop() ?? '');
      if (parts.length) reply.raw.write(parts.map((l) => `[${file.name}] ${l}\n`).join(''));
    }
  };
  const timer = setInterval(poll, 250);
  reply.raw.on('close', () => clearInterval(timer));
}
