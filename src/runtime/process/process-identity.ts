import { readFileSync } from 'node:fs';

/**
 * Proves a pid still belongs to the process we started. Pids are reused, so
 * after a controller restart "pid 4242 is alive" is not enough: the token is
 * the boot id plus the process start time (field 22 of /proc/<pid>/stat, in
 * clock ticks since boot), which no later process with the same pid can have.
 * Without /proc the token is null, meaning "cannot verify": never adopt then.
 */
export function readPidToken(pid: number): string | null {
  const stat = readProcStat(pid);
  if (!stat || stat.state === 'Z') return null;
  const bootId = readBootId();
  return bootId ? `${bootId}:${stat.startTime}` : stat.startTime;
}

/** True while `pid` is running (not a zombie) and is still the process that `token` was read from. */
export function isSameProcess(pid: number, token: string): boolean {
  return readPidToken(pid) === token;
}

/** Liveness without a token: /proc when present (so a zombie counts as gone), else signal 0. */
export function isProcessAlive(pid: number): boolean {
  const stat = readProcStat(pid);
  if (stat) return stat.state !== 'Z';
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface ProcStat {
  state: string;
  startTime: string;
}

function readProcStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // Field 2 (comm) is in parentheses and may itself hold spaces or ')': split after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const startTime = fields[22 - 3];
  return state && startTime ? { state, startTime } : null;
}

let bootId: string | null | undefined;

function readBootId(): string | null {
  if (bootId === undefined) {
    try {
      bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
    } catch {
      bootId = null;
    }
  }
  return bootId;
}
