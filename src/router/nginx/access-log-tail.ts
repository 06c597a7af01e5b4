import fs from 'node:fs';

/** Most bytes read in one go; a larger backlog is read over several chunks of the same call. */
const CHUNK_BYTES = 1 << 20;

/**
 * Reads the lines appended to a file since the last call, synchronously (a
 * router's `counters()` is sync). Starts at the file's end: lines written
 * before cutover attached belong to nobody it routes. A file that shrank
 * (truncated) or was replaced (logrotate moves it and nginx reopens on
 * USR1) is read again from its start; lines written to the old file after
 * the last read are lost, which only undercounts.
 */
export class AccessLogTail {
  private readonly file: string;
  private offset = 0;
  private inode = -1;
  private partial = '';

  constructor(file: string) {
    this.file = file;
    const stat = statOrNull(file);
    if (stat !== null) {
      this.offset = stat.size;
      this.inode = stat.ino;
    }
  }

  readLines(): string[] {
    const stat = statOrNull(this.file);
    if (stat === null) return [];
    if (stat.ino !== this.inode || stat.size < this.offset) {
      this.inode = stat.ino;
      this.offset = 0;
      this.partial = '';
    }
    if (stat.size === this.offset) return [];
    let fd: number;
    try {
      fd = fs.openSync(this.file, 'r');
    } catch {
      return [];
    }
    let text = this.partial;
    try {
      const buffer = Buffer.alloc(Math.min(CHUNK_BYTES, stat.size - this.offset));
      while (this.offset < stat.size) {
        const read = fs.readSync(fd, buffer, 0, Math.min(buffer.length, stat.size - this.offset), this.offset);
        if (read === 0) break;
        this.offset += read;
        // Log lines are ASCII (nginx escapes the rest), so a chunk never splits a character.
        text += buffer.toString('latin1', 0, read);
      }
    } finally {
      fs.closeSync(fd);
    }
    const lines = text.split('\n');
    // The last piece is a line nginx has not finished writing (or '' after a newline).
    this.partial = lines.pop() ?? '';
    return lines;
  }
}

function statOrNull(file: string): fs.Stats | null {
  try {
    return fs.statSync(file);
  } catch {
    return null;
  }
}
