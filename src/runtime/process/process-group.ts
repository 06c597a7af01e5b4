import { readdirSync, readFileSync } from 'node:fs';

/**
 * Instances run in their own process group (spawned detached, so setsid):
 * signalling the group reaches the app and anything it started, such as the
 * node process under `npm start` or `sh -c "node app & wait"`.
 */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false; // ESRCH: the group is gone.
  }
}

/**
 * True while a live process of the group exists. Zombies do not count: their
 * parent may be a PID 1 that never reaps (common in containers), and a dead
 * process holds no port and needs no signal.
 */
export function isGroupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  const members = listGroupMembers(pgid);
  return members === null || members.some((member) => member.state !== 'Z');
}

/** The processes of a group from /proc, or null when /proc cannot be read. */
function listGroupMembers(pgid: number): { pid: number; state: string }[] | null {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return null;
  }
  const members: { pid: number; state: string }[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let text: string;
    try {
      text = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // Fields after the command name: 3 state, 4 ppid, 5 pgrp.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid) members.push({ pid: Number(entry), state: fields[0] ?? '' });
  }
  return members;
}

/**
 * Every group some ProcessRuntime in this process still manages, so the
 * server can kill them from a synchronous `process.on('exit')` handler, where
 * nothing asynchronous (such as `runtime.close()`) can run any more.
 */
const liveGroups = new Set<number>();

export function trackGroup(pgid: number): void {
  liveGroups.add(pgid);
}

export function untrackGroup(pgid: number): void {
  liveGroups.delete(pgid);
}

/**
 * Last resort, synchronous: SIGKILL every instance group still managed in this
 * process. Call it from `process.on('exit', ...)` after a graceful
 * `runtime.close()` had its chance. Returns how many groups were signalled.
 */
export function killAllInstanceGroupsSync(): number {
  let signalled = 0;
  for (const pgid of liveGroups) if (signalGroup(pgid, 'SIGKILL')) signalled++;
  liveGroups.clear();
  return signalled;
}
