import fs from 'node:fs';
import path from 'node:path';

/**
 * When each part of the instance logs was written, to the nearest look. An app writes its log through its own fd
 * (instances outlive the controller), so the lines carry no time and `cutover logs` could only print instance after
 * instance. The server looks at every log's size every `intervalMs` and remembers "up to byte N by time T": a line
 * is dated by the first look that saw it whole, so the lines of a release's instances merge by time to within a
 * look. What was there before the first look (written while no server ran) is dated by the file's last change.
 * Each look also gets a sequence number, so two looks in the same millisecond still have an order.
 */
export interface LogTime {
  time: number;
  seq: number;
}

interface Mark extends LogTime {
  offset: number;
}

/** Marks kept per file: at one look a second with new output, about two hours; older lines share the oldest mark. */
const MARKS_PER_FILE = 8192;

export class LogClock {
  private readonly marks = new Map<string, Mark[]>();
  private seq = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /** Notes how far the file reaches now; call it before reading the file so that what is read has a time. */
  observe(file: string): void {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(file);
    } catch {
      this.marks.delete(file);
      return;
    }
    const known = this.marks.get(file);
    if (known === undefined) {
      this.marks.set(file, [{ offset: stat.size, time: stat.mtimeMs, seq: ++this.seq }]);
      return;
    }
    const last = known.at(-1);
    // Smaller than at the last look: rotated (copied to .1, truncated); what it holds now was written since.
    if (last !== undefined && stat.size < last.offset) known.length = 0;
    const previous = known.at(-1);
    if (previous !== undefined && stat.size === previous.offset) return;
    // Never earlier than the mark before it (the wall clock may step back): a file's lines keep their order.
    known.push({ offset: stat.size, time: Math.max(this.now(), previous?.time ?? 0), seq: ++this.seq });
    if (known.length > MARKS_PER_FILE) known.splice(0, known.length - MARKS_PER_FILE);
  }

  /** The time of the bytes of `file` that end at `end` (a line's end): the first look that saw them. */
  timeOf(file: string, end: number): LogTime {
    const known = this.marks.get(file) ?? [];
    // Marks are in offset order: binary search for the first that reaches `end`.
    let low = 0;
    let high = known.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (known[middle]!.offset >= end) high = middle;
      else low = middle + 1;
    }
    const mark = known[low];
    // Not seen by any look yet: written just now.
    return mark ? { time: mark.time, seq: mark.seq } : { time: this.now(), seq: Number.MAX_SAFE_INTEGER };
  }

  /** Looks at every `*.log` under `logDir` every `intervalMs` until stopped (a stat per file, as rotation does). */
  watch(logDir: string, intervalMs = 500): { stop(): void } {
    const look = (): void => {
      let names: string[];
      try {
        names = fs.readdirSync(logDir, { recursive: true }) as string[];
      } catch {
        return;
      }
      const files = new Set(names.filter((name) => name.endsWith('.log')).map((name) => path.join(logDir, name)));
      for (const file of files) this.observe(file);
      // A pruned release's logs are gone: so are their marks.
      for (const file of this.marks.keys()) if (file.startsWith(logDir) && !files.has(file)) this.marks.delete(file);
    };
    look();
    const timer = setInterval(look, intervalMs);
    timer.unref();
    return { stop: () => clearInterval(timer) };
  }
}

/** Orders two dated lines: by time, then by look; a stable sort keeps each file's own order for the rest. */
export function compareLogTimes(a: LogTime, b: LogTime): number {
  return a.time - b.time || a.seq - b.seq;
}
