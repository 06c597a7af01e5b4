import { Option, type Command } from 'commander';
import { CutoverError } from '../core/errors.js';
import { assertValidVersion } from '../core/version-grammar.js';
import type { AdminClient } from './admin-client.js';
import { registerDbCommands, registerMigrateCommands } from './commands/database-commands.js';
import { registerFlagsCommand } from './commands/flags-command.js';
import { registerMigrateLintCommand } from './commands/migrate-lint-command.js';
import { runAbort, runOperation } from './commands/operation-commands.js';
import { parseFollowTimeout } from './follow-operation.js';
import { migrateCommand, rootCommand, type GlobalOptions } from './root-command.js';

/**
 * The `cutover` command tree with its actions. Everything but `init` and
 * `server` talks to a running server through the admin API, so the CLI, the
 * dashboard and scripts see the same state and the same errors.
 * test/examples/doc-commands.test.ts parses the docs' command lines with it.
 */
export function cutoverProgram(): Command {
  const cli = rootCommand();

  const globals = (): GlobalOptions => cli.opts<GlobalOptions>();
  // Each command's module (and the admin client) loads when that command runs: `cutover --help` needs none of them.
  const client = async (): Promise<AdminClient> => {
    const { AdminClient, resolveTarget } = await import('./admin-client.js');
    return new AdminClient(await resolveTarget(globals()));
  };
  const svc = (name: string): string => `/api/v1/services/${encodeURIComponent(name)}`;
  const json = (): boolean => Boolean(globals().json);
  const follow = (wait: boolean) => ({ json: json(), wait, timeoutMs: parseFollowTimeout(globals().timeout) });

  cli
    .command('init')
    .description('write a commented starter cutover.yaml, or one mapped from a docker-compose.yml (--from)')
    .option('--dir <dir>', 'directory to write it in', '.')
    .option('--force', 'overwrite an existing file', false)
    .option('--from <compose-file>', 'map the services of this Compose file (validated against the Compose spec)')
    .option('--runtime <runtime>', 'with --from: docker or swarm', 'docker')
    .option(
      '--service <names>',
      'with --from: the Compose services to import, comma-separated (default: those with a port)',
    )
    .action(async (o: { dir: string; force: boolean; from?: string; runtime: string; service?: string }) => {
      if (o.from === undefined) return exit((await import('./commands/init-command.js')).runInit(o));
      // Loaded on demand: the YAML library and the Compose schema's validator cost every other command.
      const { runInitFromCompose } = await import('./commands/init-from-compose.js');
      exit(runInitFromCompose({ ...o, from: o.from }));
    });

  cli
    .command('server')
    .description('run the proxy, the controller and the admin API')
    // Loaded on demand: the server's modules (fastify, SQLite, the controller) would add
    // a few hundred milliseconds to every other command, which only talks HTTP.
    .action(async () => {
      const { runServer } = await import('./commands/server-command.js');
      const code = await runServer({ config: globals().config });
      exit(code);
      // What the detached instances' watchers left open (a Docker wait request) must not hold the exit up.
      setTimeout(() => process.exit(code), 500).unref();
    });

  cli
    .command('down [service]')
    .description(
      'stop every instance and the proxy (and the server, if it runs): traffic stops; with a service, only that service stops (the server must run); asks unless --yes',
    )
    .option('--yes', 'do not ask', false)
    .action(async (service: string | undefined, o: { yes: boolean }) => {
      const { runDown, runServiceDown } = await import('./commands/down-command.js');
      if (service !== undefined) {
        const { timeoutMs } = follow(true);
        return exit(await runServiceDown({ ...globals(), service, yes: o.yes, json: json(), timeoutMs }));
      }
      const code = await runDown({ ...globals(), yes: o.yes });
      exit(code);
      setTimeout(() => process.exit(code), 500).unref();
    });

  cli
    .command('reload')
    .description(
      'read cutover.yaml again: new services, templates, notifications and settings for the next deploy apply at once; a file with any error changes nothing',
    )
    .action(async () => {
      const { runReload } = await import('./commands/reload-command.js');
      exit(await runReload(await client(), json()));
    });

  cli
    .command('deploy [service]')
    .description("deploy a version with the service's strategy (blue-green, canary, rolling, recreate)")
    .option(
      '--all',
      'every service, on the server: non-critical ones first, then critical ones one at a time; approval gates wait for `cutover approve`',
    )
    .requiredOption('--version <version>', 'version to deploy (substituted as ${VERSION})')
    .addOption(new Option('--slot <slot>', 'slot to deploy to').choices(['auto', 'blue', 'green']).default('auto'))
    .option('--auto-switch', 'switch traffic as soon as the new release is healthy')
    .option('--auto-cleanup', 'stop the old release right after the switch (no instant rollback)')
    .option('--skip-health', 'do not wait for health checks (dangerous: prints a warning)')
    .option('--no-wait', 'return once the deploy started')
    .action(
      async (
        service: string | undefined,
        o: {
          all?: boolean;
          version: string;
          slot: string;
          autoSwitch?: boolean;
          autoCleanup?: boolean;
          skipHealth?: boolean;
          wait: boolean;
        },
      ) => {
        // Refused here, before the server is contacted, with the rule the server would answer with.
        assertValidVersion(o.version);
        if (o.skipHealth)
          process.stderr.write('warning: --skip-health: the new release will get traffic without a health check\n');
        const body = {
          version: o.version,
          slot: o.slot,
          autoSwitch: o.autoSwitch,
          autoCleanup: o.autoCleanup,
          skipHealth: o.skipHealth,
        };
        if (o.all) {
          if (service) throw new CutoverError('BAD_REQUEST', 'give either a service or --all, not both');
          // As before the wave moved to the server: blue-green services switch once healthy, unless gated by an approval.
          const { runDeployAll } = await import('./commands/deploy-all-command.js');
          exit(
            await runDeployAll(
              await client(),
              {
                version: o.version,
                autoSwitch: o.autoSwitch ?? true,
                autoCleanup: o.autoCleanup,
                skipHealth: o.skipHealth,
              },
              follow(o.wait),
            ),
          );
          return;
        }
        if (!service) throw new CutoverError('BAD_REQUEST', 'name the service to deploy, or pass --all');
        exit(
          await runOperation(await client(), `${svc(service)}/deploy`, body, { ...follow(o.wait), command: 'deploy' }),
        );
      },
    );

  cli
    .command('switch <service> <slot>')
    .description('move traffic to a slot (promote a ready deploy, or switch back to the standby)')
    .option('--force', 'switch even to a release older than an applied contract migration (needs --reason)')
    .option('--reason <why>', 'why --force is right; recorded in the history')
    .action(async (service: string, slot: string, o: ContractOverrideOptions) =>
      exit(await runOperation(await client(), `${svc(service)}/switch`, { slot, ...override(o) }, follow(true))),
    );

  cli
    .command('promote <service>')
    .description('switch a ready blue-green deploy, or move a canary to its next step')
    .option('--full', 'canary: go to 100% at once')
    .action(async (service: string, o: { full?: boolean }) =>
      exit(await runOperation(await client(), `${svc(service)}/promote`, o.full ? { full: true } : {}, follow(true))),
    );

  cli
    .command('approve <service>')
    .description(
      'give the approval a gate waits for (approval: true on a blue-green switch or a canary step); recorded with who approved',
    )
    .action(async (service: string) =>
      exit(await runOperation(await client(), `${svc(service)}/approve`, {}, { ...follow(true), command: 'approve' })),
    );

  cli
    .command('retry <service>')
    .description('deploy again the version whose last deploy failed or was aborted')
    .option('--no-wait', 'return once the deploy started')
    .action(async (service: string, o: { wait: boolean }) =>
      exit(await runOperation(await client(), `${svc(service)}/retry`, {}, follow(o.wait))),
    );

  cli
    .command('pause <service>')
    .description('canary: hold the current weight until resume')
    .action(async (service: string) =>
      exit(await runOperation(await client(), `${svc(service)}/pause`, {}, { ...follow(false), command: 'pause' })),
    );

  cli
    .command('resume <service>')
    .description('canary: continue a paused rollout')
    .action(async (service: string) =>
      exit(await runOperation(await client(), `${svc(service)}/resume`, {}, follow(true))),
    );

  cli
    .command('abort <service>')
    .description(
      'stop the running deploy: before the switch, traffic stays on the release that serves; after it (a post-promotion window), this rolls back to the previous release, said before it acts',
    )
    .action(async (service: string) => exit(await runAbort(await client(), service, follow(true))));

  cli
    .command('finish <service>')
    .description('end a post-promotion window now, keeping the new release (the previous one goes to standby)')
    .action(async (service: string) =>
      exit(await runOperation(await client(), `${svc(service)}/finish`, {}, { ...follow(true), command: 'finish' })),
    );

  cli
    .command('rollback <service>')
    .description(
      'return traffic to the release that served before the current one (never a newer one; instant while its slot still runs)',
    )
    .option('--to <release>', 'a kept release: id (web-3), number (3) or version')
    .option('--force', 'roll back even past an applied contract migration (needs --reason)')
    .option('--reason <why>', 'why --force is right; recorded in the history')
    .action(async (service: string, o: { to?: string } & ContractOverrideOptions) =>
      exit(
        await runOperation(
          await client(),
          `${svc(service)}/rollback`,
          { ...(o.to ? { to: o.to } : {}), ...override(o) },
          follow(true),
        ),
      ),
    );

  cli
    .command('cleanup <service>')
    .description('stop the standby release now')
    .action(async (service: string) =>
      exit(await runOperation(await client(), `${svc(service)}/cleanup`, {}, follow(true))),
    );

  const maintenance = cli
    .command('maintenance')
    .description(
      'answer users of a service with 503 and a maintenance page (health checks and allowed addresses still reach it)',
    );
  maintenance
    .command('on <service>')
    .description('users get 503 with Retry-After and a page (HTML or JSON by Accept); no deploy needed')
    .option('--message <text>', 'what users read on the page (at most 500 characters)')
    .option('--retry-after <duration>', 'what Retry-After tells clients, e.g. 10m (default 5m)')
    .option(
      '--allow <cidr...>',
      'address blocks still routed to the service, e.g. 10.0.0.0/8 (repeat or comma-separate)',
    )
    .action(async (service: string, o: { message?: string; retryAfter?: string; allow?: string[] }) => {
      const { runMaintenance } = await import('./commands/maintenance-command.js');
      exit(await runMaintenance(await client(), service, true, o, json()));
    });
  maintenance
    .command('off <service>')
    .description('serve the service again (the route that served before, without a deploy)')
    .action(async (service: string) => {
      const { runMaintenance } = await import('./commands/maintenance-command.js');
      exit(await runMaintenance(await client(), service, false, {}, json()));
    });

  const certs = cli
    .command('certs')
    .description('the certificates HTTPS is served with: where each comes from, its expiry and next renewal');
  certs
    .command('list')
    .description('each HTTPS host: files or ACME, issuer, expiry, next renewal, the last failed order')
    .action(async () => {
      const { runCertsList } = await import('./commands/certs-command.js');
      exit(await runCertsList(await client(), json()));
    });
  certs
    .command('renew [host]')
    .description('order due ACME certificates now (a host: that one; --force: even if not due) and wait')
    .option('--force', 'renew even certificates that are not due')
    .action(async (host: string | undefined, o: { force?: boolean }) => {
      const { runCertsRenew } = await import('./commands/certs-command.js');
      exit(await runCertsRenew(await client(), host, o.force === true, json()));
    });

  cli
    .command('status [service]')
    .description('active and standby slots, instance health, recent deploys')
    .option('-w, --watch', 'keep showing it (redrawn on a terminal; printed again on each change elsewhere)')
    .option('--interval <seconds>', 'how often --watch asks the server', '1')
    .action(async (service: string | undefined, o: { watch?: boolean; interval: string }) => {
      const { runStatus, watchStatus } = await import('./commands/status-command.js');
      if (!o.watch) return exit(await runStatus(await client(), service, json()));
      const seconds = Number(o.interval);
      if (!Number.isFinite(seconds) || seconds < 0.2)
        throw new CutoverError('BAD_REQUEST', `--interval: expected seconds ≥ 0.2, got ${JSON.stringify(o.interval)}`);
      const stop = new AbortController();
      process.once('SIGINT', () => stop.abort());
      exit(await watchStatus(await client(), service, json(), { intervalMs: seconds * 1000, signal: stop.signal }));
    });

  cli
    .command('history <service>')
    .description('kept releases and past operations')
    .action(async (service: string) => {
      const { runHistory } = await import('./commands/history-command.js');
      exit(await runHistory(await client(), service, json()));
    });

  cli
    .command('logs <service>')
    .description("print a release's instance logs, the instances' lines merged by time")
    .option('--release <release>', 'release id, number or version (default: the active release)')
    .option('-f, --follow', 'keep printing new lines', false)
    .option('-n, --lines <n>', 'how many of the last lines', '100')
    .action(async (service: string, o: { release?: string; follow: boolean; lines: string }) => {
      const { runLogs } = await import('./commands/logs-command.js');
      // The server refuses such a value too; said here in the option's own words.
      const lines = /^\d+$/.test(o.lines) ? Number(o.lines) : Number.NaN;
      if (!(lines >= 1 && lines <= 10_000))
        throw new CutoverError(
          'BAD_REQUEST',
          `-n/--lines: expected a whole number from 1 to 10000, got ${JSON.stringify(o.lines)}`,
          { hint: 'Run `cutover logs --help` for what each option takes.' },
        );
      exit(
        await runLogs(await client(), service, {
          release: o.release,
          follow: o.follow,
          lines,
          json: json(),
        }),
      );
    });

  cli
    .command('doctor')
    .description(
      'check the config, the state directory, the runtimes, the router, the server and the databases, with a fix for each problem',
    )
    .action(async () => {
      const { runDoctorCommand } = await import('./commands/doctor-command.js');
      exit(await runDoctorCommand(globals().config, json()));
    });

  cli
    .command('proxy')
    .description("cutover's proxy process")
    .command('restart')
    .description(
      'start a new proxy generation that takes the listening socket over; the old one finishes its requests (no request lost)',
    )
    .action(async () => {
      const { runProxyRestart } = await import('./commands/proxy-command.js');
      exit(await runProxyRestart(await client(), json()));
    });

  registerFlagsCommand(cli, { client, json });
  const databaseContext = { client, json, config: () => globals().config };
  const migrate = migrateCommand(cli);
  registerMigrateLintCommand(migrate);
  registerMigrateCommands(migrate, databaseContext);
  registerDbCommands(
    cli.command('db').description("the service's database: backups, restores, batched backfills"),
    databaseContext,
  );

  return cli;
}

/** `--force --reason` of rollback and switch; the server checks they go together. */
interface ContractOverrideOptions {
  force?: boolean;
  reason?: string;
}

function override(o: ContractOverrideOptions): { force?: true; reason?: string } {
  return { ...(o.force ? { force: true as const } : {}), ...(o.reason !== undefined ? { reason: o.reason } : {}) };
}

function exit(code: number): void {
  process.exitCode = code;
}
