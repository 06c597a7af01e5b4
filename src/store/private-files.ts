import fs from 'node:fs';

/**
 * The state directory holds the admin token, the database (releases, events,
 * flags, audit), backups of the services' databases and the apps' logs (which
 * may print secrets): nothing in it is for other users of the machine. Every
 * directory cutover makes there is 0700 and every file 0600, whatever the
 * umask, and an existing file or directory that is looser is tightened when
 * cutover opens it (state from an older version, or a directory someone made
 * by hand).
 */
export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** Bits that let the group or others in at all. */
const SHARED_BITS = 0o077;

/**
 * Makes `dir` (and missing parents) with mode 0700; an existing `dir` that
 * lets others in is chmod'ed to 0700. Returns the mode it had when it was
 * tightened, else null.
 */
export function ensurePrivateDir(dir: string): number | null {
  fs.mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  const mode = fs.statSync(dir).mode & 0o777;
  if ((mode & SHARED_BITS) === 0) return null;
  fs.chmodSync(dir, mode & ~SHARED_BITS);
  return mode;
}

/** Opens (creating if needed) a file only its owner can read; an existing looser file is tightened. Returns the fd. */
export function openPrivateFile(file: string, flags: 'a' | 'r+' = 'a'): number {
  const fd = fs.openSync(file, flags === 'a' ? 'a' : fs.constants.O_RDWR | fs.constants.O_CREAT, PRIVATE_FILE_MODE);
  try {
    // The open's mode only applies to a new file: an old one keeps what it had.
    if ((fs.fstatSync(fd).mode & SHARED_BITS) !== 0) fs.fchmodSync(fd, PRIVATE_FILE_MODE);
  } catch (error) {
    fs.closeSync(fd);
    throw error;
  }
  return fd;
}

/** Creates `file` empty with mode 0600 if it does not exist, and tightens it if it does. */
export function ensurePrivateFile(file: string): void {
  fs.closeSync(openPrivateFile(file, 'r+'));
}

/** Tightens an existing file to 0600 if it lets others in; a missing file is left missing. */
export function tightenIfPresent(file: string): void {
  try {
    if ((fs.statSync(file).mode & SHARED_BITS) !== 0) fs.chmodSync(file, PRIVATE_FILE_MODE);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
