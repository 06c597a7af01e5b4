import { spawn } from 'node:child_process';
import { CutoverError } from '../core/errors.js';
import { childEnvironment } from '../runtime/child-environment.js';

/**
 * A team's own migration tool (`alembic upgrade head`, `npx prisma migrate
 * deploy`, `npx knex migrate:latest`, `python manage.py migrate`) run as a
 * deploy step: /bin/sh in the service's directory, with DATABASE_URL,
 * VERSION, CUTOVER_SERVICE and CUTOVER_PHASE (expand | contract) in its
 * environment, killed (its whole process group) after the timeout. These
 * tools keep their own history and are idempotent, so cutover only decides
 * when they run; the caller holds the migration lock around it.
 */
const TAIL_CHARS = 2000;

export interface MigrationCommand {
  command: string;
  cwd: string;
  /** The hook's inputs (DATABASE_URL, VERSION, CUTOVER_SERVICE, CUTOVER_PHASE); with the minimal base and `inheritEnv`, all it gets. */
  env: Record<string, string>;
  /** The service's `inherit_env`. */
  inheritEnv?: readonly string[];
  timeoutMs: number;
}

export function runMigrationCommand(spec: MigrationCommand): Promise<{ durationMs: number; output: string }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', spec.command], {
      cwd: spec.cwd,
      env: childEnvironment({ inherit: spec.inheritEnv ?? [], set: spec.env }),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    const collect = (chunk: Buffer): void => {
      output = (output + chunk.toString()).slice(-TAIL_CHARS * 2);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, spec.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new CutoverError('MIGRATION_FAILED', `cannot run "${spec.command}": ${error.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const tail = output.trim().slice(-TAIL_CHARS);
      if (code === 0) {
        resolve({ durationMs: Date.now() - started, output: tail });
        return;
      }
      const why = timedOut
        ? `ran longer than ${spec.timeoutMs} ms and was killed`
        : signal
          ? `was killed by ${signal}`
          : `exited with ${code}`;
      reject(
        new CutoverError('MIGRATION_FAILED', `"${spec.command}" ${why}${tail ? `: ${tail}` : ''}`, {
          hint: 'Its output is above; the deploy did not start the new release.',
        }),
      );
    });
  });
}
