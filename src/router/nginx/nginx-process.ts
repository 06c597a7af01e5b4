import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * The nginx binary and its processes, seen from outside: commands run with
 * the team's main config, the master's pid, and its workers read from /proc.
 */
export interface NginxCommand {
  binary: string;
  mainConfig: string;
  /** `-p`, when the team's nginx runs with a prefix of its own. */
  prefix?: string;
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The code `runNginx` gives when the binary could not be started at all (missing, not executable), as a shell would. */
export const NGINX_NOT_RUNNABLE = 127;

/** Runs `nginx <args> -c mainConfig`; never rejects (a binary that cannot start is NGINX_NOT_RUNNABLE with the reason in stderr). */
export function runNginx(command: NginxCommand, args: readonly string[], timeoutMs = 15_000): Promise<CommandResult> {
  const full = [...args, '-c', command.mainConfig, ...(command.prefix === undefined ? [] : ['-p', command.prefix])];
  return new Promise((resolve) => {
    execFile(
      command.binary,
      full,
      { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8', env: nginxEnvironment() },
      (error, stdout, stderr) => {
        if (error === null) {
          resolve({ code: 0, stdout, stderr });
          return;
        }
        // A number: nginx's exit status; a string (ENOENT, EACCES): it never started; neither: killed at the timeout.
        const code =
          typeof error.code === 'number' ? error.code : typeof error.code === 'string' ? NGINX_NOT_RUNNABLE : 124;
        resolve({ code, stdout, stderr: stderr.length > 0 ? stderr : error.message });
      },
    );
  });
}

/**
 * nginx's own reason out of its stderr: the `[emerg]`/`[alert]` line, such as
 * `unknown directive "lisen" in /etc/nginx/conf.d/team.conf:3`, without the
 * timestamp and pid; else the first line.
 */
export function nginxErrorLine(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
  const reason = lines.find((line) => /\[(emerg|alert|crit|error)\]/.test(line)) ?? lines[0] ?? 'no output';
  return reason
    .replace(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d /, '')
    .replace(/^nginx: /, '')
    .replace(/^\[(\w+)\] \d+#\d+: /, '[$1] ');
}

/**
 * The pid file of the running master: the `pid` directive of the effective
 * config (`nginx -T` prints it with every included file), else the path
 * nginx was built with (`--pid-path`). Relative paths are nginx's prefix's.
 */
export async function discoverPidFile(command: NginxCommand): Promise<{ pidFile: string } | { error: string }> {
  const dump = await runNginx(command, ['-T']);
  if (dump.code !== 0) return { error: nginxErrorLine(dump.stderr) };
  const directive = /^\s*pid\s+([^;\s]+)\s*;/m.exec(stripComments(dump.stdout));
  const built = await runNginx({ ...command }, ['-V']);
  const prefix = command.prefix ?? /--prefix=(\S+)/.exec(built.stderr)?.[1] ?? '/usr/share/nginx';
  const file = directive?.[1] ?? /--pid-path=(\S+)/.exec(built.stderr)?.[1] ?? 'logs/nginx.pid';
  return { pidFile: path.resolve(prefix, file) };
}

function stripComments(text: string): string {
  return text.replace(/#[^\n]*/g, '');
}

/** The master's pid from its pid file, when that process is alive and is an nginx master; else null. */
export function runningMasterPid(pidFile: string): number | null {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
  } catch {
    return null;
  }
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    process.kill(pid, 0);
  } catch {
    return null;
  }
  const title = processTitle(pid);
  // Without /proc (not Linux) the signal check above is all we have.
  return title === null || title.includes('nginx') ? pid : null;
}

export interface WorkerProcess {
  pid: number;
  /** True once the worker took a graceful stop (a reload or quit): it serves only what it had in flight. */
  shuttingDown: boolean;
}

/**
 * The master's worker processes, from /proc: nginx retitles a worker
 * "nginx: worker process is shutting down" the moment it handles the stop,
 * when it also closes its listening sockets and idle keep-alive connections.
 * Cache loaders and managers are not workers and are left out. Empty when
 * /proc is not there.
 */
export function workerProcesses(masterPid: number): WorkerProcess[] {
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return [];
  }
  const workers: WorkerProcess[] = [];
  for (const entry of entries) {
    if (entry.charCodeAt(0) > 0x39) continue;
    const pid = Number(entry);
    if (!Number.isInteger(pid) || parentPid(pid) !== masterPid) continue;
    const title = processTitle(pid);
    if (title === null) continue;
    // A worker just forked still carries the master's title until it renames itself: it is about to accept.
    if (!title.includes('worker process') && !title.includes('master process')) continue;
    workers.push({ pid, shuttingDown: title.includes('shutting down') });
  }
  return workers;
}

function parentPid(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name in parentheses may hold spaces: fields are counted after its closing parenthesis.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;
  }
}

function processTitle(pid: number): string | null {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0+/g, ' ').trim();
  } catch {
    return null;
  }
}

/**
 * nginx needs only PATH (and TZ for its log times): the server's own
 * environment holds its tokens, and nothing of it is nginx's business.
 */
function nginxEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' };
  if (process.env.TZ !== undefined) env.TZ = process.env.TZ;
  return env;
}
