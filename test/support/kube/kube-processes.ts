import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * The test cluster's own processes (etcd, the control plane, the kubelet):
 * each started with a minimal environment, its output in a log file of its
 * own under the cluster's directory, stopped by its pid (SIGTERM, then
 * SIGKILL after a grace period). If the test process exits without
 * stopping them, an exit hook kills them: no component outlives its test.
 */
export interface KubeProcess {
  name: string;
  child: ChildProcess;
  logFile: string;
}

/** PATH and HOME only: the components need nothing of the test's environment, and must not see its secrets. */
export function minimalEnv(home: string): NodeJS.ProcessEnv {
  return { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: home };
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export function startKubeProcess(
  logDir: string,
  name: string,
  binary: string,
  args: string[],
  home: string,
): KubeProcess {
  fs.mkdirSync(logDir, { recursive: true });
  const logFile = path.join(logDir, `${name}.log`);
  const log = fs.openSync(logFile, 'a');
  try {
    const child = spawn(binary, args, { env: minimalEnv(home), stdio: ['ignore', log, log] });
    live.add(child);
    child.once('exit', () => live.delete(child));
    // A missing binary surfaces as an exit with a code; no unhandled 'error' event.
    child.on('error', (error) => fs.appendFileSync(logFile, `\n${name}: ${error.message}\n`));
    return { name, child, logFile };
  } finally {
    fs.closeSync(log);
  }
}

export function hasExited(component: KubeProcess): boolean {
  return component.child.exitCode !== null || component.child.signalCode !== null || component.child.pid === undefined;
}

export async function stopKubeProcess(component: KubeProcess, graceMs = 10_000): Promise<void> {
  if (hasExited(component)) return;
  const exited = new Promise<void>((resolve) => component.child.once('exit', () => resolve()));
  component.child.kill('SIGTERM');
  const timer = setTimeout(() => component.child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** The last lines of a component's log, for an error message. */
export function logTail(component: KubeProcess, lines = 15): string {
  let text: string;
  try {
    text = fs.readFileSync(component.logFile, 'utf8');
  } catch {
    return '(no log)';
  }
  const kept = text.trimEnd().split('\n').slice(-lines);
  return kept.map((line) => `    ${line}`).join('\n');
}
