import fs from 'node:fs';

/**
 * CPU time (user + system, ms) a process has used so far, from /proc on
 * Linux; null elsewhere. The benchmark divides the difference over a run by
 * the requests served, which gives a cost per request that, unlike
 * requests/s, hardly depends on what else the machine is doing.
 */
const TICKS_PER_SECOND = 100; // USER_HZ; 100 on every mainstream Linux build

export function processCpuMs(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const user = Number(fields[11]);
    const system = Number(fields[12]);
    return ((user + system) * 1000) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/** The children of a process (nginx's worker under its master), from /proc. */
export function childPids(pid: number): number[] {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** CPU of this process, from Node itself (works everywhere). */
export function ownCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}
