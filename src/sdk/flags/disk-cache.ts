import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { readSnapshot, type FlagSnapshot } from './flag-set.js';

/**
 * The last good flag set on disk, so an application that starts while the
 * flag server is down still answers with the flags it last saw rather than
 * with every default. Written atomically (a temp file in the same directory,
 * then rename), so a crash mid-write leaves the previous file whole; a reader
 * never sees half a set.
 */

const FORMAT = 1;

interface CacheFile {
  format: number;
  savedAt: string;
  snapshot: FlagSnapshot;
}

/** The cached snapshot, or null when there is none or it cannot be read (a cache is a fallback, never a reason to fail). */
export async function readCache(file: string, environment: string | undefined): Promise<FlagSnapshot | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return null;
  }
  try {
    const parsed = JSON.parse(text) as Partial<CacheFile>;
    if (parsed.format !== FORMAT) return null;
    const snapshot = readSnapshot(parsed.snapshot);
    // A cache of another environment (the same file reused by mistake) would serve the wrong flags.
    if (snapshot === null || (environment !== undefined && snapshot.environment !== environment)) return null;
    return snapshot;
  } catch {
    return null;
  }
}

export async function writeCache(file: string, snapshot: FlagSnapshot): Promise<void> {
  const body: CacheFile = { format: FORMAT, savedAt: new Date().toISOString(), snapshot };
  await mkdir(path.dirname(file), { recursive: true });
  // Same directory as the target: rename is atomic only within one file system.
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temp, JSON.stringify(body), { mode: 0o600, flush: true });
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/**
 * Serialises the writes of one cache file and keeps only the newest pending
 * set: a burst of changes writes the file at most twice, never out of order.
 */
export class CacheWriter {
  private readonly file: string;
  private readonly onError: (error: unknown) => void;
  private next: FlagSnapshot | null = null;
  private running: Promise<void> | null = null;

  constructor(file: string, onError: (error: unknown) => void) {
    this.file = file;
    this.onError = onError;
  }

  save(snapshot: FlagSnapshot): void {
    this.next = snapshot;
    this.running ??= this.drain();
  }

  /** Resolves once every set handed to save() is on disk (or failed). */
  async idle(): Promise<void> {
    while (this.running !== null) await this.running;
  }

  private async drain(): Promise<void> {
    try {
      while (this.next !== null) {
        const snapshot = this.next;
        this.next = null;
        try {
          await writeCache(this.file, snapshot);
        } catch (error) {
          this.onError(error);
        }
      }
    } finally {
      this.running = null;
    }
  }
}
