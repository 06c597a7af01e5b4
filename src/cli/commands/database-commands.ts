import { formatBytes } from '../../core/format-bytes.js';
import readline from 'node:readline/promises';
import type { Command } from 'commander';
import { parseDuration } from '../../config/duration.js';
import { CutoverError } from '../../core/errors.js';
import { assertValidVersion } from '../../core/version-grammar.js';
import type { AdminClient } from '../admin-client.js';
import { bold, dim, formatDuration, formatTime, green, printJson, red, yellow } from '../output.js';
import { currentActor } from './operation-commands.js';
import { EXIT } from '../exit-codes.js';

/**
 * `cutover migrate status|run` and `cutover db backup|backups|restore|backfill`.
 * Status, run, backups and restores go through the admin API (the server
 * knows which releases run, and keeps the backups' records); a backfill is a
 * long data job that the CLI runs against the database itself, resumable
 * from where any earlier run stopped.
 */
export interface DatabaseCommandContext {
  client: () => Promise<AdminClient>;
  json: () => boolean;
  config: () => string;
}

interface Planned {
  id: string;
  phase: string;
  state: string;
  reason: string | null;
  appliedAt: string | null;
}
interface Backup {
  id: string;
  label: string;
  database: string;
  sizeBytes: number;
  releaseId: string | null;
  createdBy: string;
  createdAt: number;
  kind: 'automatic' | 'manual';
  expiresAt: number | null;
}

export function registerMigrateCommands(migrate: Command, context: DatabaseCommandContext): void {
  const exit = (code: number): void => {
    process.exitCode = code;
  };
  const svc = (name: string): string => `/api/v1/services/${encodeURIComponent(name)}`;

  migrate
    .command('status <service>')
    .description("applied, pending and blocked migrations of the service's database, and why")
    .option('--version <version>', "the version whose migrations directory to read (default: the active release's)")
    .action(async (service: string, o: { version?: string }) => {
      if (o.version !== undefined) assertValidVersion(o.version);
      const answer = await (
        await context.client()
      ).request<{ database: string; directory: string; migrations: Planned[]; ignored?: string[] }>(
        'GET',
        `${svc(service)}/migrations${o.version ? `?version=${encodeURIComponent(o.version)}` : ''}`,
      );
      if (context.json()) {
        printJson(answer);
        return exit(0);
      }
      process.stdout.write(`${bold(answer.database)} ${dim(answer.directory)}\n`);
      if (answer.migrations.length === 0) process.stdout.write('no migrations\n');
      for (const m of answer.migrations) {
        const state = m.state === 'applied' ? green(m.state) : m.state === 'pending' ? yellow(m.state) : red(m.state);
        const when = m.appliedAt ? dim(` ${formatTime(Date.parse(m.appliedAt))}`) : '';
        process.stdout.write(
          `${state.padEnd(18)} ${m.phase.padEnd(8)} ${m.id}${when}${m.reason ? `\n${' '.repeat(28)}${dim(m.reason)}` : ''}\n`,
        );
      }
      for (const file of answer.ignored ?? [])
        process.stdout.write(
          `${yellow('ignored'.padEnd(18))} ${''.padEnd(8)} ${file}\n${' '.repeat(28)}${dim('never run: only .sql files at the top and in expand/ and contract/ are migrations')}\n`,
        );
      exit(answer.migrations.some((m) => m.state === 'changed') ? 1 : 0);
    });

  migrate
    .command('run <service>')
    .description(
      'apply the migrations that may run now: pending expand ones, and contract ones no running release predates',
    )
    .action(async (service: string) => {
      const answer = await (
        await context.client()
      ).request<{ applied: string[]; contract?: string[] }>('POST', `${svc(service)}/migrations/run`, {
        actor: currentActor(),
      });
      if (context.json()) printJson(answer);
      else {
        const contract = new Set(answer.contract ?? []);
        const expand = answer.applied.filter((id) => !contract.has(id));
        if (answer.applied.length === 0)
          process.stdout.write('nothing to apply (see `cutover migrate status` for blocked ones)\n');
        if (expand.length > 0) process.stdout.write(`applied expand: ${expand.join(', ')}\n`);
        // A contract migration is the point of no return for older releases: say so where it happened.
        if (contract.size > 0)
          process.stdout.write(
            `${yellow('applied contract:')} ${[...contract].join(', ')}\n` +
              `${dim('releases that predate it can no longer serve: rollback to them is refused (restore the backup taken before it, or --force --reason)')}\n`,
          );
      }
      exit(0);
    });
}

export function registerDbCommands(db: Command, context: DatabaseCommandContext): void {
  const exit = (code: number): void => {
    process.exitCode = code;
  };
  const svc = (name: string): string => `/api/v1/services/${encodeURIComponent(name)}`;

  db.command('backup <service>')
    .description("pg_dump the service's database into the state directory, with a label")
    .requiredOption('--label <label>', 'a name for the backup, like before-cleanup')
    .option(
      '--expires <age>',
      'remove it after this long, like 12h, 30d or 8w (default: kept until deleted; never counts against database.backups_kept)',
    )
    .action(async (service: string, o: { label: string; expires?: string }) => {
      const { backup } = await (
        await context.client()
      ).request<{ backup: Backup }>('POST', `${svc(service)}/backups`, {
        label: o.label,
        ...(o.expires === undefined ? {} : { expires: o.expires }),
        actor: currentActor(),
      });
      if (context.json()) printJson({ backup });
      else
        process.stdout.write(
          `${green('✓')} backup ${backup.label} of ${backup.database}: ${formatBytes(backup.sizeBytes)}\n`,
        );
      exit(0);
    });

  db.command('backups <service>')
    .description('the kept backups, newest first')
    .action(async (service: string) => {
      const { backups } = await (
        await context.client()
      ).request<{ backups: Backup[] }>('GET', `${svc(service)}/backups`);
      if (context.json()) {
        printJson({ backups });
        return exit(0);
      }
      if (backups.length === 0) process.stdout.write('no backups\n');
      for (const b of backups) {
        const keptBy =
          b.kind === 'automatic'
            ? 'automatic'
            : b.expiresAt === null
              ? 'manual, kept'
              : `manual, expires ${formatTime(b.expiresAt)}`;
        process.stdout.write(
          `${b.label.padEnd(24)} ${formatTime(b.createdAt)}  ${formatBytes(b.sizeBytes).padStart(10)}  ${b.database}  ${keptBy.padEnd(34)} ${dim(`${b.releaseId ?? '-'} by ${b.createdBy}`)}\n`,
        );
      }
      exit(0);
    });

  db.command('restore <service>')
    .description("replace the database's contents with a backup (one transaction: a failure changes nothing)")
    .requiredOption('--backup <label>', "the backup's label or id")
    .option('-y, --yes', 'do not ask for confirmation (required when not on a terminal)')
    .option('--maintenance', 'put the service in maintenance first (users get 503) and leave it on after the restore')
    .option('--no-maintenance', 'do not ask about maintenance')
    .action(async (service: string, o: { backup: string; yes?: boolean; maintenance?: boolean }) => {
      let maintenance = o.maintenance === true;
      // Asked only on a terminal without either flag: a restore under live writes can lose them or mix them in.
      if (o.maintenance === undefined && !o.yes && process.stdin.isTTY) {
        const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
        const answer = await rl.question(
          `Put ${service} in maintenance first (users get 503 until \`cutover maintenance off ${service}\`)? [y/N] `,
        );
        rl.close();
        maintenance = /^y(es)?$/i.test(answer.trim());
      }
      if (!o.yes) {
        if (!process.stdin.isTTY)
          throw new CutoverError(
            'BAD_REQUEST',
            "restore replaces the database's contents: pass --yes to confirm when not on a terminal",
          );
        const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
        const answer = await rl.question(
          `Restore ${service}'s database from backup ${o.backup}? Its current contents are replaced. Type yes: `,
        );
        rl.close();
        if (answer.trim() !== 'yes') {
          process.stderr.write('not restored\n');
          return exit(EXIT.ABORTED);
        }
      }
      const client = await context.client();
      if (maintenance) {
        await client.request('POST', `${svc(service)}/maintenance`, {
          on: true,
          message: 'The service is being restored from a backup. Please try again shortly.',
          actor: currentActor(),
        });
        if (!context.json()) process.stderr.write(`${service} is in maintenance: users get 503\n`);
      }
      const { restored } = await client.request<{ restored: Backup }>('POST', `${svc(service)}/backups/restore`, {
        backup: o.backup,
        actor: currentActor(),
      });
      if (context.json()) printJson({ restored, maintenance });
      else {
        process.stdout.write(
          `${green('✓')} ${restored.database} restored from ${restored.label} (${formatTime(restored.createdAt)})\n`,
        );
        // Left on on purpose: the team checks the restored data before users write to it again.
        if (maintenance)
          process.stdout.write(
            `${service} stays in maintenance: \`cutover maintenance off ${service}\` serves it again\n`,
          );
      }
      exit(0);
    });

  db.command('backfill <service>')
    .description('update a table in short batches by primary key (resumable, throttled)')
    .requiredOption('--table <table>', 'the table, like users or app.users')
    .requiredOption('--set <assignments>', 'the SET list, like "full_name = first_name || \' \' || last_name"')
    .option('--where <condition>', 'only rows matching it, like "full_name IS NULL"')
    .option('--batch <rows>', 'rows per batch (one short transaction each)', '10000')
    .option('--sleep <duration>', 'pause between batches, like 50ms', '0ms')
    .option('--database-url <url>', "the database (default: the service's database.url in the config)")
    .option('--again', 'a new pass over the table after a finished one (rows written since it finished)')
    .action(
      async (
        service: string,
        o: {
          table: string;
          set: string;
          where?: string;
          batch: string;
          sleep: string;
          databaseUrl?: string;
          again?: boolean;
        },
      ) => {
        const batchSize = Number(o.batch);
        if (!Number.isInteger(batchSize) || batchSize < 1)
          throw new CutoverError('BAD_REQUEST', `--batch: expected a whole number ≥ 1, got ${JSON.stringify(o.batch)}`);
        const pause = parseDuration(o.sleep, { allowZero: true });
        if (!pause.ok)
          throw new CutoverError('BAD_REQUEST', `--sleep: ${pause.expected}, got ${JSON.stringify(o.sleep)}`);
        const url =
          o.databaseUrl ?? process.env.CUTOVER_DATABASE_URL ?? (await databaseUrlOf(context.config(), service));
        const { runBackfill } = await import('../../migrate/backfill.js');
        const controller = new AbortController();
        const stop = (): void => {
          process.stderr.write('\nstopping after the batch in flight; run the same command again to resume\n');
          controller.abort();
        };
        process.once('SIGINT', stop);
        const tty = Boolean(process.stderr.isTTY) && !context.json();
        let lastLine = 0;
        try {
          const result = await runBackfill({
            url,
            table: o.table,
            set: o.set,
            where: o.where ?? null,
            batchSize,
            sleepMs: pause.ms,
            again: o.again === true,
            signal: controller.signal,
            onProgress: (p) => {
              const total = p.remaining === null ? null : p.scanned + p.remaining;
              const line = `${bar(p.scanned, total)} ${p.scanned}${total === null ? '' : `/${total}`} scanned, ${p.updated} updated, ${Math.round(p.rowsPerSecond)} rows/s${p.etaMs === null ? '' : `, ETA ${formatDuration(Math.round(p.etaMs))}`}${p.resumed ? ' (resumed)' : ''}`;
              if (context.json()) return;
              if (tty) process.stderr.write(`\r${line}\u001b[K`);
              else if (p.done || Date.now() - lastLine > 2000) {
                process.stderr.write(`${line}\n`);
                lastLine = Date.now();
              }
            },
          });
          if (tty) process.stderr.write('\n');
          if (context.json()) printJson(result);
          else if (result.finishedBefore !== null)
            process.stdout.write(
              `${green('✓')} this backfill of ${o.table} finished at ${formatTime(Date.parse(result.finishedBefore))} (${result.updated} rows updated); nothing was done now.\n` +
                `  Rows written since then are not covered: \`--again\` starts a new pass (with a --where that skips rows already done).\n`,
            );
          else
            process.stdout.write(
              result.done
                ? `${green('✓')} backfill of ${o.table} done: ${result.updated} rows updated\n`
                : `${yellow('…')} stopped after ${result.batches} batches; run again to resume\n`,
            );
          exit(result.done ? 0 : 130);
        } finally {
          process.off('SIGINT', stop);
        }
      },
    );
}

async function databaseUrlOf(configFile: string, service: string): Promise<string> {
  // Only this service's settings are resolved: another service's secrets are not needed to reach this database.
  const { loadConfig } = await import('../../config/load-config.js');
  const config = await loadConfig(configFile, { services: [service] });
  const database = config.services[service]?.database;
  if (!database)
    throw new CutoverError('BAD_REQUEST', `${service} has no database section in ${configFile}; pass --database-url`);
  return database.url;
}

function bar(done: number, total: number | null): string {
  if (total === null || total === 0) return '';
  const width = 24;
  const filled = Math.min(width, Math.round((done / total) * width));
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.floor((done / total) * 100)).padStart(3)}%`;
}
