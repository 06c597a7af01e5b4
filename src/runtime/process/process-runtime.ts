import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, writeSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CutoverError } from '../../core/errors.js';
import { ManagedInstances } from '../managed-instances.js';
import type { InstanceExit, InstanceInfo, InstanceSpec, Runtime } from '../index.js';
import { findFreePort } from './free-port.js';
import { instanceLogPath, openInstanceLog, tailInstanceLog } from './log-files.js';
import { substituteEnv, substitutePlaceholders, type PlaceholderValues } from './placeholders.js';
import { isGroupAlive, signalGroup, trackGroup, untrackGroup } from './process-group.js';
import { isSameProcess, readPidToken } from './process-identity.js';
import { shellScriptFor } from './shell-command.js';
import { splitCommandWords } from '../../config/command-words.js';
import { childEnvironment } from '../child-environment.js';

/** For the server's synchronous `process.on('exit')` handler: SIGKILL every instance group still managed. */
export { killAllInstanceGroupsSync } from './process-group.js';

/** The subset of a pino logger the runtime uses. */
export interface RuntimeLogger {
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
}

export interface ProcessRuntimeOptions {
  /** Instance logs go to `<logDir>/<service>/<releaseId>/<slot>-<index>.log`. */
  logDir: string;
  /** Address instances listen on and the proxy dials; loopback by default. */
  host?: string;
  logger?: RuntimeLogger;
  /** Grace period for adopted instances, whose spec is not recorded. Default 10 s. */
  defaultStopGracePeriodMs?: number;
  /** How often an adopted instance (no longer our child, so no exit event) is checked. Default 500 ms. */
  adoptedPollMs?: number;
}

interface ManagedInstance {
  info: InstanceInfo;
  /** The pid is also the process group id: instances are spawned detached (setsid). */
  pgid: number;
  pidToken: string | null;
  gracePeriodMs: number;
  /** Null for an adopted instance: it is not our child, so its exit is found by polling. */
  child: ChildProcess | null;
  pollTimer: NodeJS.Timeout | undefined;
  stopRequested: boolean;
  stopping: Promise<void> | null;
  exited: boolean;
}

const STOP_POLL_MS = 25;
/** After SIGKILL, how long to wait for the group to disappear before giving up (a PID 1 that never reaps zombies). */
const AFTER_KILL_WAIT_MS = 3_000;

export function instanceIdOf(instance: { service: string; releaseId: string; slot: string; index: number }): string {
  return `${instance.service}/${instance.releaseId}/${instance.slot}-${instance.index}`;
}

/**
 * The embedded runtime: each instance is a local process group started on a
 * free loopback port (the command's words executed directly; /bin/sh only for
 * a service with `shell: true`), with its output appended to a log file.
 * Instances are detached (own session and group) so that a stop reaches every
 * process a wrapper started, and so that they outlive a crashed controller,
 * which then takes them back with `adopt()` after verifying each pid.
 */
export class ProcessRuntime extends ManagedInstances<ManagedInstance> implements Runtime {
  readonly kind = 'process';
  private readonly logDir: string;
  private readonly host: string;
  private readonly logger: RuntimeLogger | undefined;
  private readonly defaultGracePeriodMs: number;
  private readonly adoptedPollMs: number;
  /** Log paths outlive the instances, so `tailLog` can explain an exit after the fact. */
  private readonly logPaths = new Map<string, string>();

  constructor(options: ProcessRuntimeOptions) {
    super(options.logger);
    this.logDir = path.resolve(options.logDir);
    this.host = options.host ?? '127.0.0.1';
    this.logger = options.logger;
    this.defaultGracePeriodMs = options.defaultStopGracePeriodMs ?? 10_000;
    this.adoptedPollMs = options.adoptedPollMs ?? 500;
  }

  async start(spec: InstanceSpec): Promise<InstanceInfo> {
    const id = instanceIdOf(spec);
    if (this.closed)
      throw new CutoverError('INSTANCE_START_FAILED', `Cannot start ${id}: the process runtime is shut down.`);
    const running = this.instances.get(id);
    if (running) {
      throw new CutoverError(
        'INSTANCE_START_FAILED',
        `Cannot start ${id}: it is already running (pid ${running.pgid}).`,
        {
          hint: 'Stop the running instance first.',
        },
      );
    }
    await assertDirectory(spec.cwd, id);

    const port = await findFreePort(this.host);
    const values: PlaceholderValues = {
      VERSION: spec.version,
      PORT: String(port),
      SLOT: spec.slot,
      INSTANCE: String(spec.index),
      HOST: this.host,
    };
    const launch = launchOf(spec, values, id);
    // Not the server's environment: it holds the admin token and other secrets (see child-environment.ts).
    const env = childEnvironment({
      inherit: spec.inheritEnv ?? [],
      set: {
        ...substituteEnv(spec.env, values),
        PORT: values.PORT,
        HOST: this.host,
        VERSION: spec.version,
        SLOT: spec.slot,
        INSTANCE: values.INSTANCE,
        CUTOVER_INSTANCE_ID: id,
      },
    });
    const logPath = instanceLogPath(this.logDir, spec);
    this.logPaths.set(id, logPath);

    let logFd: number;
    try {
      // The command is not written here: after env substitution it may hold a secret.
      logFd = openInstanceLog(
        logPath,
        `--- cutover ${new Date().toISOString()}: starting ${id} (version ${spec.version}) on ${this.host}:${port}`,
      );
    } catch (error) {
      throw new CutoverError(
        'INSTANCE_START_FAILED',
        `Cannot start ${id}: cannot open its log file ${logPath}: ${messageOf(error)}`,
        {
          hint: 'Check that the state directory is writable.',
          cause: error,
        },
      );
    }

    let child: ChildProcess;
    try {
      child = spawn(launch.file, launch.args, { cwd: spec.cwd, env, detached: true, stdio: ['ignore', logFd, logFd] });
      await waitForSpawn(child);
    } catch (error) {
      const why = spawnFailure(error, launch.file, spec.cwd);
      // In the instance log too, where `cutover logs` looks for why an instance did not run.
      writeSync(logFd, `--- cutover: cannot start ${id}: ${why}\n`);
      throw new CutoverError('INSTANCE_START_FAILED', `Cannot start ${id}: ${why}`, {
        cause: error,
        details: { cwd: spec.cwd },
      });
    } finally {
      // The child has its own copy of the fd; ours would only leak.
      closeSync(logFd);
    }

    const pid = child.pid as number;
    const info: InstanceInfo = {
      id,
      service: spec.service,
      releaseId: spec.releaseId,
      version: spec.version,
      slot: spec.slot,
      index: spec.index,
      host: this.host,
      port,
      pid,
      pidToken: readPidToken(pid),
      logPath,
      startedAt: Date.now(),
    };
    const managed = this.manage(info, child, spec.stopGracePeriodMs);
    child.on('exit', (code, signal) => this.handleExit(managed, code, signal));
    child.on('error', (error) => this.logger?.warn({ instance: id, err: error }, 'instance process error'));
    // The controller must be free to exit while instances run; they are ours to stop, not to wait for.
    child.unref();
    this.logger?.info({ instance: id, pid, port, logPath }, 'instance started');
    if (this.closed) {
      // close() ran while we were spawning: it could not see this instance, so it must not outlive it.
      await this.stop(id);
      throw new CutoverError(
        'INSTANCE_START_FAILED',
        `Cannot start ${id}: the process runtime shut down during the start.`,
      );
    }
    return { ...info };
  }

  async adopt(records: InstanceInfo[]): Promise<InstanceInfo[]> {
    const adopted: InstanceInfo[] = [];
    for (const record of records) {
      const reason = this.whyNotAdopt(record);
      if (reason) {
        this.logger?.info({ instance: record.id, pid: record.pid, reason }, 'instance not adopted');
        continue;
      }
      const managed = this.manage(record, null, this.defaultGracePeriodMs);
      this.logPaths.set(record.id, record.logPath);
      managed.pollTimer = setInterval(() => this.pollAdopted(managed), this.adoptedPollMs);
      managed.pollTimer.unref();
      this.logger?.info({ instance: record.id, pid: record.pid, port: record.port }, 'instance adopted');
      adopted.push({ ...record });
    }
    return adopted;
  }

  tailLog(instanceId: string, lines: number): Promise<string> {
    return tailInstanceLog(this.logDir, this.logPaths.get(instanceId), instanceId, lines);
  }

  protected letGo(managed: ManagedInstance): void {
    clearInterval(managed.pollTimer);
    // Its own session and group already (detached at spawn), its output in a file: only our watch on it ends.
    managed.child?.removeAllListeners('exit');
    managed.child?.unref();
    untrackGroup(managed.pgid);
  }

  protected gracePeriodOf(managed: ManagedInstance): number {
    return managed.gracePeriodMs;
  }

  private manage(info: InstanceInfo, child: ChildProcess | null, gracePeriodMs: number): ManagedInstance {
    const pgid = info.pid as number;
    const managed: ManagedInstance = {
      info: { ...info },
      pgid,
      pidToken: info.pidToken,
      gracePeriodMs,
      child,
      pollTimer: undefined,
      stopRequested: false,
      stopping: null,
      exited: false,
    };
    this.instances.set(info.id, managed);
    trackGroup(pgid);
    return managed;
  }

  private whyNotAdopt(record: InstanceInfo): string | null {
    if (this.instances.has(record.id)) return 'already managed';
    if (record.pid === null) return 'no pid recorded';
    // Without a token we cannot tell our process from a stranger that got the same pid.
    if (record.pidToken === null) return 'no pid token recorded (cannot verify the process)';
    if (!isSameProcess(record.pid, record.pidToken))
      return 'process is gone (or its pid now belongs to another process)';
    return null;
  }

  private pollAdopted(managed: ManagedInstance): void {
    if (managed.exited || managed.pidToken === null) return;
    if (!isSameProcess(managed.pgid, managed.pidToken)) this.handleExit(managed, null, null);
  }

  protected async terminate(managed: ManagedInstance, gracePeriodMs: number): Promise<void> {
    const { pgid } = managed;
    managed.stopRequested = true;
    // An adopted pid may have died and been reused since the last poll: never signal a stranger.
    if (!managed.child) this.pollAdopted(managed);
    if (!managed.exited) signalGroup(pgid, 'SIGTERM');
    this.logger?.info({ instance: managed.info.id, pid: pgid, gracePeriodMs }, 'instance stopping');

    let killedAt: number | null = null;
    const killTimer = setTimeout(() => {
      killedAt = Date.now();
      this.logger?.warn(
        { instance: managed.info.id, pid: pgid, gracePeriodMs },
        'instance ignored SIGTERM; sending SIGKILL',
      );
      signalGroup(pgid, 'SIGKILL');
    }, gracePeriodMs);
    try {
      // Done when the app has exited and nothing it started is left in its group.
      while (!managed.exited || isGroupAlive(pgid)) {
        if (killedAt !== null && Date.now() - killedAt > AFTER_KILL_WAIT_MS) {
          this.logger?.warn(
            { instance: managed.info.id, pid: pgid },
            'process group still present after SIGKILL; giving up waiting',
          );
          break;
        }
        if (!managed.child) this.pollAdopted(managed);
        await sleep(STOP_POLL_MS);
      }
    } finally {
      clearTimeout(killTimer);
      untrackGroup(pgid);
    }
  }

  private handleExit(managed: ManagedInstance, code: number | null, signal: string | null): void {
    if (managed.exited) return;
    managed.exited = true;
    clearInterval(managed.pollTimer);
    if (this.instances.get(managed.info.id) === managed) this.instances.delete(managed.info.id);
    const expected = managed.stopRequested;
    if (!expected) {
      // The app is gone; whatever it left in its group (a wrapper's children) is an orphan now.
      signalGroup(managed.pgid, 'SIGKILL');
      untrackGroup(managed.pgid);
    }
    const exit: InstanceExit = { instance: { ...managed.info }, code, signal, expected };
    const fields = { instance: managed.info.id, pid: managed.pgid, code, signal, expected };
    if (expected) this.logger?.info(fields, 'instance stopped');
    else this.logger?.warn(fields, 'instance exited unexpectedly');
    this.exits.notify(exit);
  }
}

/**
 * What to execute. Without `shell`, the command's words with the placeholders
 * filled in each word: no shell ever reads a value, so a version or a port
 * cannot become syntax. With `shell`, /bin/sh runs the command as written
 * (exec in front of a simple command, so the pid is still the app) and reads
 * the values from its environment ($VERSION, ${PORT}, ...), as data.
 */
function launchOf(spec: InstanceSpec, values: PlaceholderValues, id: string): { file: string; args: string[] } {
  if (spec.shell === true) return { file: '/bin/sh', args: ['-c', shellScriptFor(spec.command)] };
  const split = splitCommandWords(spec.command);
  if (!split.ok) {
    throw new CutoverError(
      'INSTANCE_START_FAILED',
      `Cannot start ${id}: its command cannot run without a shell: ${split.reason}`,
      {
        hint: 'Fix `command` in the service config, or set `shell: true`.',
      },
    );
  }
  const [file, ...args] = split.words.map((word) => substitutePlaceholders(word, values));
  return { file: file as string, args };
}

/** A program that is not there is the common case; say so in words (the shell used to answer 127 "not found"). */
function spawnFailure(error: unknown, file: string, cwd: string): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT')
    return `${file}: not found (command not found on PATH${file.includes('/') ? ` or relative to ${cwd}` : ''})`;
  if (code === 'EACCES') return `${file}: permission denied (not an executable file)`;
  return messageOf(error);
}

async function assertDirectory(cwd: string, id: string): Promise<void> {
  let isDirectory = false;
  try {
    isDirectory = (await stat(cwd)).isDirectory();
  } catch {
    throw new CutoverError(
      'INSTANCE_START_FAILED',
      `Cannot start ${id}: its working directory ${cwd} does not exist.`,
      {
        hint: 'Fix `cwd` in the service config.',
      },
    );
  }
  if (!isDirectory) {
    throw new CutoverError(
      'INSTANCE_START_FAILED',
      `Cannot start ${id}: its working directory ${cwd} is not a directory.`,
      {
        hint: 'Fix `cwd` in the service config.',
      },
    );
  }
}

function waitForSpawn(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => {
      child.off('spawn', onSpawn);
      reject(error);
    };
    const onSpawn = (): void => {
      child.off('error', onError);
      resolve();
    };
    child.once('spawn', onSpawn);
    child.once('error', onError);
  });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
