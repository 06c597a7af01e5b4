import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

/**
 * A real nginx master for one test file, the way a team runs it: a main
 * nginx.conf with a `pid` file, a file of the team's own (`team.conf`) and
 * the file cutover owns, both included inside `http {}`. Everything lives in
 * one temp dir; it listens on nothing until cutover renders its servers.
 *
 * The master runs in the foreground (`daemon off`, our child) so the test
 * holds its handle and can always stop it, while `nginx -s reload -c
 * nginx.conf` still finds it through the pid file. `user root` because the
 * tests run as root and the temp dir is private to root (mkdtemp is 0700):
 * workers running as nobody could not use the temp paths in it.
 */
export interface NginxFiles {
  dir: string;
  mainConfig: string;
  /** The file cutover owns, included inside http {}. */
  includeFile: string;
  /** A file of the team's config, included before cutover's: where a colleague's typo goes. */
  teamFile: string;
  pidFile: string;
  errorLog: string;
}

export interface RunningNginxServer extends NginxFiles {
  masterPid: number;
  stop(): Promise<void>;
}

export function nginxInstalled(): boolean {
  return spawnSync('nginx', ['-v'], { stdio: 'ignore' }).error === undefined;
}

/** Writes the main config and empty included files into a new temp dir; starts nothing. */
export function writeNginxFiles(): NginxFiles {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-nginx-'));
  const file = (name: string): string => path.join(dir, name);
  const files: NginxFiles = {
    dir,
    mainConfig: file('nginx.conf'),
    includeFile: file('cutover.conf'),
    teamFile: file('team.conf'),
    pidFile: file('nginx.pid'),
    errorLog: file('error.log'),
  };
  fs.writeFileSync(files.teamFile, "# the team's own http-level settings\nserver_tokens off;\n");
  fs.writeFileSync(files.includeFile, '# cutover writes this file\n');
  fs.writeFileSync(files.mainConfig, mainConfigText(files));
  return files;
}

export function mainConfigText(files: NginxFiles): string {
  const temp = (name: string): string => path.join(files.dir, name);
  return `user root;
worker_processes 1;
error_log ${files.errorLog} warn;
pid ${files.pidFile};
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${temp('client_body')};
  proxy_temp_path ${temp('proxy')};
  fastcgi_temp_path ${temp('fastcgi')};
  uwsgi_temp_path ${temp('uwsgi')};
  scgi_temp_path ${temp('scgi')};
  include ${files.teamFile};
  include ${files.includeFile};
}
`;
}

export async function startNginxServer(): Promise<RunningNginxServer> {
  // Loud, like the Docker tests: a missing nginx is a broken machine, not a reason to skip.
  if (!nginxInstalled())
    throw new Error('nginx not found: the nginx router tests need the real nginx (apt-get install -y nginx)');
  const files = writeNginxFiles();
  const child: ChildProcess = spawn('nginx', ['-c', files.mainConfig, '-g', 'daemon off;'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const masterPid = child.pid ?? 0;
  const stop = async (): Promise<void> => {
    await stopMaster(child);
    fs.rmSync(files.dir, { recursive: true, force: true });
  };
  // Started in the foreground: the pid file holding our child's pid means the master is up.
  const deadline = Date.now() + 5_000;
  while (readPid(files.pidFile) !== masterPid) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`nginx did not start: ${stderr.trim() || 'no pid file'}`);
    }
    await delay(20);
  }
  return { ...files, masterPid, stop };
}

/**
 * SIGTERM (fast shutdown: it does not wait for idle keep-alive clients), then
 * SIGKILL for the master and any worker left: a worker outliving its master
 * would keep the port.
 */
async function stopMaster(child: ChildProcess): Promise<void> {
  const pid = child.pid;
  if (pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const workers = childPids(pid);
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const stopped = await Promise.race([exited.then(() => true), delay(5_000).then(() => false)]);
  if (!stopped) {
    child.kill('SIGKILL');
    await exited;
  }
  for (const worker of workers) {
    try {
      process.kill(worker, 'SIGKILL');
    } catch {
      // Already gone: the normal case.
    }
  }
}

function readPid(file: string): number | null {
  try {
    return Number(fs.readFileSync(file, 'utf8').trim());
  } catch {
    return null;
  }
}

function childPids(parent: number): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent) pids.push(Number(entry));
    } catch {
      // The process ended while we read.
    }
  }
  return pids;
}
