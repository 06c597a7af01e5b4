import fs from 'node:fs';
import type { FastifyReply } from 'fastify';
import { compareLogTimes, LogClock, type LogTime } from '../runtime/process/log-clock.js';
import { tailLines } from '../runtime/process/log-files.js';
import { releaseLogFiles } from '../runtime/process/release-log-files.js';

/** Which release the lines come from, for the JSON form. */
export interface LogSource {
  service: string;
  releaseId: string;
  version: string;
  slot: string;
}

interface DatedLine extends LogTime {
  instance: string;
  text: string;
}

/**
 * Streams a release's instance logs as plain text, each line prefixed with the instance (`[green-0] ...`), or with
 * `json` as JSON lines (one object a line: instance, release, version, slot, time, line). The instances' lines are
 * merged by time (log-clock.ts: when the server first saw each line), so the last lines are the latest output of
 * the release, whichever instance wrote them; `lines` is how many of those. With follow, new lines are sent as they
 * are written until the client goes away (like `tail -f`).
 */
export async function sendReleaseLogs(
  reply: FastifyReply,
  logDir: string,
  source: LogSource,
  lines: number,
  follow: boolean,
  json = false,
  clock: LogClock = new LogClock(),
  redact: (text: string) => string = (text) => text,
): Promise<void> {
  const { service, releaseId } = source;
  const files = releaseLogFiles(logDir, service, releaseId);
  reply.raw.writeHead(200, {
    'content-type': json ? 'application/x-ndjson; charset=utf-8' : 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
  });
  const format = (line: DatedLine): string =>
    json
      ? `${JSON.stringify({ service, instance: line.instance, release: releaseId, version: source.version, slot: source.slot, time: new Date(line.time).toISOString(), line: line.text })}\n`
      : `[${line.instance}] ${line.text}\n`;
  const send = (dated: DatedLine[]): void => {
    // A stable sort: lines of one file keep their order, and files theirs, on equal times.
    // Redacted like every other exit: an app that prints its DATABASE_URL or a token must not hand it to
    // whoever reads its logs (the stream is written raw, so the API's onSend hook never sees it).
    if (dated.length) reply.raw.write(redact(dated.sort(compareLogTimes).map(format).join('')));
  };
  const offsets = new Map<string, number>();
  const tail: DatedLine[] = [];
  for (const file of files) {
    // Looked at before the read: every line read has a time.
    clock.observe(file.path);
    // Each instance's last `lines`: the merged last `lines` are among them.
    for (const line of await tailLines(file.path, lines))
      tail.push({ instance: file.name, text: line.text, ...clock.timeOf(file.path, line.end) });
    offsets.set(file.path, fs.statSync(file.path).size);
  }
  send(tail.sort(compareLogTimes).slice(-lines));
  if (!follow) {
    reply.raw.end();
    return;
  }
  const partial = new Map<string, string>();
  const poll = (): void => {
    const fresh: DatedLine[] = [];
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
      clock.observe(file.path);
      const fd = fs.openSync(file.path, 'r');
      const buffer = Buffer.alloc(size - from);
      fs.readSync(fd, buffer, 0, buffer.length, from);
      fs.closeSync(fd);
      offsets.set(file.path, size);
      const text = (partial.get(file.path) ?? '') + buffer.toString('utf8');
      const parts = text.split('\n');
      partial.set(file.path, parts.pop() ?? '');
      // Read up to `size` just after a look that reached at least there: all of it is dated by that look or earlier.
      const time = clock.timeOf(file.path, size);
      for (const part of parts) fresh.push({ instance: file.name, text: part, ...time });
    }
    send(fresh);
  };
  const timer = setInterval(poll, 250);
  reply.raw.on('close', () => clearInterval(timer));
}
