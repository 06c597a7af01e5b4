import { checkEnvFiles } from './env-file-check.js';
import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { Agent, request } from 'undici';
import { readToken } from '../http/admin-token.js';
import { splitCommandWords } from '../config/command-words.js';
import { localUrlOf } from '../config/listen-address.js';
import { loadConfig } from '../config/load-config.js';
import type { CutoverConfig, ServiceConfig } from '../config/types.js';
import { CutoverError } from '../core/errors.js';
import { inUseFix, listenError } from '../core/listen-errors.js';
import type { CheckResult } from './check-result.js';
import { checkAnalysisProviders } from './analysis-check.js';
import { checkCertificates } from './certificate-check.js';
import { checkHaproxy } from './haproxy-check.js';
import { checkNginx } from './nginx-check.js';
import { checkSwarmNodes } from './swarm-nodes-check.js';
import { checkKubernetes } from './kubernetes-check.js';

export type { CheckResult, CheckStatus } from './check-result.js';

/**
 * `cutover doctor`: what would stop `cutover server` or a deploy, found
 * before it does, each with the fix. Every check reads the machine as it is
 * (files, sockets, ports, the running server); none changes anything.
 */
export interface DoctorOptions {
  configFile: string;
  env: NodeJS.ProcessEnv;
}

export async function runDoctor(options: DoctorOptions): Promise<CheckResult[]> {
  let config: CutoverConfig;
  try {
    config = await loadConfig(options.configFile, { env: options.env });
  } catch (error) {
    const e = error instanceof CutoverError ? error : new CutoverError('INTERNAL', (error as Error).message);
    // Without a config nothing else can be checked meaningfully.
    // CONFIG_INVALID lists every wrong field: the summary counts each of them.
    const listed = Array.isArray(e.details) ? e.details.length : 0;
    return [
      {
        id: 'config',
        status: 'fail',
        message: e.message,
        ...(listed > 1 ? { problems: listed } : {}),
        fix:
          e.code === 'CONFIG_NOT_FOUND'
            ? e.hint
            : `Edit ${options.configFile} at the places listed; \`cutover init\` writes a commented example of every key.`,
      },
    ];
  }
  const results: CheckResult[] = [
    {
      id: 'config',
      status: 'ok',
      message: `${config.file ?? options.configFile}: ${Object.keys(config.services).length} service(s), valid`,
    },
  ];
  results.push(await checkStateDir(config.server.stateDir));
  for (const service of Object.values(config.services)) results.push(...(await checkRuntime(service, options.env)));
  for (const service of Object.values(config.services)) {
    const envFiles = checkEnvFiles(service);
    if (envFiles !== null) results.push(envFiles);
  }
  if (Object.values(config.services).some(usesDocker)) {
    const daemon = await checkDockerDaemon(config.server.dockerHost, options.env);
    results.push(daemon);
    if (daemon.status === 'ok' && Object.values(config.services).some((s) => s.runtime === 'swarm')) {
      const manager = await checkSwarmManager(config.server.dockerHost, options.env);
      results.push(manager);
      if (manager.status === 'ok')
        results.push(
          await checkSwarmNodes(
            socketPathOf(dockerHostOf(config.server.dockerHost, options.env)),
            config.server.swarm.nodeAddresses,
          ),
        );
    }
  }
  const server = await checkServer(config, options.env);
  results.push(...(await checkKubernetes(config, options.env)));
  results.push(server);
  // nginx listens on server.proxy itself: its check replaces the free-port one; so does an HAProxy cutover left running.
  const haproxy = config.server.haproxy ? await checkHaproxy(config.server.haproxy, config.server.stateDir) : null;
  if (haproxy !== null) results.push(haproxy.result);
  if (config.server.nginx) results.push(await checkNginx(config.server.nginx));
  else if (haproxy === null || !haproxy.running) results.push(await checkProxyPort(config, server.status === 'ok'));
  for (const service of Object.values(config.services)) {
    if (service.database) results.push(await checkDatabase(service));
  }
  results.push(...(await checkAnalysisProviders(config)));
  results.push(...(await checkCertificates(config)));
  return results;
}

async function checkStateDir(dir: string): Promise<CheckResult> {
  const fix = `Make it writable by this user (mkdir -p ${dir} && chown "$(id -un)" ${dir}), or point server.state_dir at a directory that is.`;
  try {
    const stat = await fs.stat(dir).catch(() => null);
    if (stat && !stat.isDirectory())
      return { id: 'state-dir', status: 'fail', message: `${dir} exists but is not a directory`, fix };
    const target = stat ? dir : await nearestExisting(dir);
    await fs.access(target, fsConstants.W_OK | fsConstants.X_OK);
    if (!stat)
      return {
        id: 'state-dir',
        status: 'ok',
        message: `${dir} does not exist yet; the server creates it (in ${target}, which is writable)`,
      };
    // access() can say yes where a write still fails (read-only mounts): try one.
    const probe = path.join(dir, `.doctor-${process.pid}`);
    await fs.writeFile(probe, 'ok');
    await fs.rm(probe);
    return { id: 'state-dir', status: 'ok', message: `${dir} is writable` };
  } catch (error) {
    return {
      id: 'state-dir',
      status: 'fail',
      message: `${dir} is not writable: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      fix,
    };
  }
}

async function nearestExisting(dir: string): Promise<string> {
  let current = path.dirname(dir);
  for (;;) {
    const stat = await fs.stat(current).catch(() => null);
    if (stat) {
      if (!stat.isDirectory()) throw Object.assign(new Error(`${current} is a file`), { code: 'ENOTDIR' });
      return current;
    }
    const parent = path.dirname(current);
    if (parent === current) return current;
    current = parent;
  }
}

function usesDocker(service: ServiceConfig): boolean {
  return service.runtime === 'docker' || service.runtime === 'swarm';
}

async function checkRuntime(service: ServiceConfig, env: NodeJS.ProcessEnv): Promise<CheckResult[]> {
  if (usesDocker(service)) return [];
  const id = `runtime.process.${service.name}`;
  const cwd = await fs.stat(service.cwd).catch(() => null);
  if (!cwd?.isDirectory())
    return [
      {
        id,
        status: 'fail',
        message: `${service.name}: cwd ${service.cwd} is not a directory`,
        fix: `Fix services.${service.name}.cwd.`,
      },
    ];
  const program = service.shell ? firstWord(service.command) : programOf(service.command);
  if (program === null || program.includes('$'))
    return [{ id, status: 'ok', message: `${service.name}: runs "${service.command}" in ${service.cwd}` }];
  const found = await findProgram(program, service.cwd, env.PATH ?? process.env.PATH ?? '');
  return found
    ? [{ id, status: 'ok', message: `${service.name}: ${program} found at ${found}` }]
    : [
        {
          id,
          status: 'fail',
          message: `${service.name}: ${program} is not found on PATH or in ${service.cwd}`,
          fix: `Install ${program}, or fix services.${service.name}.command.`,
        },
      ];
}

/** The program a command run without a shell executes: its first word, as the runtime splits it. */
function programOf(command: string): string | null {
  const split = splitCommandWords(command);
  return split.ok ? (split.words[0] ?? null) : null;
}

/** The program a `shell: true` command starts, when there is one to look for (not a shell builtin or an assignment). */
function firstWord(command: string): string | null {
  const word = command.trim().split(/\s+/)[0];
  if (!word || word.includes('=') || SHELL_WORDS.has(word)) return null;
  return word;
}

const SHELL_WORDS = new Set([
  'cd',
  'exec',
  'env',
  '.',
  'source',
  'export',
  'set',
  'if',
  'for',
  'while',
  'test',
  '[',
  'true',
]);

async function findProgram(program: string, cwd: string, searchPath: string): Promise<string | null> {
  const candidates = program.includes('/')
    ? [path.resolve(cwd, program)]
    : searchPath
        .split(':')
        .filter(Boolean)
        .map((dir) => path.join(dir, program));
  for (const candidate of candidates) {
    try {
      await fs.access(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      /* next */
    }
  }
  return null;
}

/** The Docker daemon's /_ping over its unix socket, found as the docker runtime finds it: server.docker_host, DOCKER_HOST, the default. */
function dockerHostOf(configured: string | undefined, env: NodeJS.ProcessEnv): string {
  return configured ?? env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
}

function socketPathOf(host: string): string {
  return host.startsWith('unix://') ? host.slice('unix://'.length) : host;
}

async function checkDockerDaemon(configured: string | undefined, env: NodeJS.ProcessEnv): Promise<CheckResult> {
  const host = dockerHostOf(configured, env);
  const fix =
    'Start the Docker daemon (systemctl start docker, or dockerd), or point server.docker_host (or DOCKER_HOST) at its socket.';
  if (host.startsWith('tcp://'))
    return {
      id: 'runtime.docker',
      status: 'warn',
      message: `the Docker daemon is ${host}; only unix sockets are checked`,
      fix,
    };
  const socketPath = socketPathOf(host);
  // The socket is the connection's, not the request's: a dispatcher of its own.
  const dispatcher = new Agent({ connect: { socketPath } });
  try {
    const response = await request('http://localhost/_ping', { dispatcher, headersTimeout: 3000, bodyTimeout: 3000 });
    const text = await response.body.text();
    if (response.statusCode === 200 && text.trim() === 'OK')
      return { id: 'runtime.docker', status: 'ok', message: `the Docker daemon answers at ${socketPath}` };
    return {
      id: 'runtime.docker',
      status: 'fail',
      message: `${socketPath} answered ${response.statusCode} to /_ping`,
      fix,
    };
  } catch (error) {
    const code =
      (error as { code?: string; cause?: { code?: string } }).cause?.code ??
      (error as { code?: string }).code ??
      (error as Error).message;
    return { id: 'runtime.docker', status: 'fail', message: `no Docker daemon at ${socketPath} (${code})`, fix };
  } finally {
    await dispatcher.close().catch(() => {});
  }
}

/** runtime: swarm creates services, which only a manager of an active swarm accepts. */
async function checkSwarmManager(configured: string | undefined, env: NodeJS.ProcessEnv): Promise<CheckResult> {
  const host = dockerHostOf(configured, env);
  if (host.startsWith('tcp://'))
    return {
      id: 'runtime.swarm',
      status: 'warn',
      message: `the Docker daemon is ${host}; only unix sockets are checked`,
    };
  const socketPath = socketPathOf(host);
  const dispatcher = new Agent({ connect: { socketPath } });
  try {
    const response = await request('http://localhost/info', { dispatcher, headersTimeout: 3000, bodyTimeout: 3000 });
    const info = (await response.body.json()) as { Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean } };
    const state = info.Swarm?.LocalNodeState ?? 'unknown';
    if (state === 'active' && info.Swarm?.ControlAvailable === true)
      return { id: 'runtime.swarm', status: 'ok', message: `the Docker daemon at ${socketPath} is a swarm manager` };
    return {
      id: 'runtime.swarm',
      status: 'fail',
      message:
        state === 'active'
          ? `the Docker daemon at ${socketPath} is a swarm worker, not a manager`
          : `the Docker daemon at ${socketPath} is not in a swarm (${state})`,
      fix:
        state === 'active'
          ? 'Point server.docker_host at a manager node (docker node ls shows them).'
          : 'Create or join one: docker swarm init (or docker swarm join), or point server.docker_host at a manager.',
    };
  } catch (error) {
    return {
      id: 'runtime.swarm',
      status: 'fail',
      message: `cannot read ${socketPath}/info: ${(error as Error).message}`,
    };
  } finally {
    await dispatcher.close().catch(() => {});
  }
}

async function checkServer(config: CutoverConfig, env: NodeJS.ProcessEnv): Promise<CheckResult> {
  const base = localUrlOf(config.server.admin);
  try {
    const health = await request(`${base}/healthz`, { headersTimeout: 2000, bodyTimeout: 2000 });
    await health.body.dump();
    if (health.statusCode !== 200)
      return {
        id: 'server',
        status: 'fail',
        message: `${base}/healthz answered ${health.statusCode}`,
        fix: 'Something other than cutover listens on the admin address; change server.admin.',
      };
  } catch {
    return {
      id: 'server',
      status: 'warn',
      message: `no cutover server at ${base}`,
      fix: `Start it: cutover server --config ${config.file ?? 'cutover.yaml'}`,
    };
  }
  const token = readToken(config.server.stateDir, env);
  if (token === null)
    return {
      id: 'server',
      status: 'warn',
      message: `a server answers at ${base}, but there is no token in ${config.server.stateDir}/admin-token or CUTOVER_TOKEN`,
      fix: 'Set CUTOVER_TOKEN, or run the CLI as the user that runs the server.',
    };
  const services = await request(`${base}/api/v1/services`, {
    headers: { authorization: `Bearer ${token}` },
    headersTimeout: 2000,
    bodyTimeout: 2000,
  });
  await services.body.dump();
  return services.statusCode === 200
    ? { id: 'server', status: 'ok', message: `the cutover server answers at ${base} and accepts the token` }
    : {
        id: 'server',
        status: 'fail',
        message: `the server at ${base} refused the token (${services.statusCode})`,
        fix: "The token belongs to another state directory: set CUTOVER_TOKEN to the server's, or fix server.state_dir.",
      };
}

/** The embedded proxy (the default router) needs its address: free, or held by the running server. */
async function checkProxyPort(config: CutoverConfig, serverRunning: boolean): Promise<CheckResult> {
  const { host, port } = config.server.proxy;
  const free = await new Promise<boolean | string>((resolve) => {
    const server = net.createServer();
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
  if (free === true) return { id: 'router.proxy', status: 'ok', message: `the proxy address ${host}:${port} is free` };
  if (serverRunning)
    return {
      id: 'router.proxy',
      status: 'ok',
      message: `the proxy address ${host}:${port} is in use (by the running cutover server)`,
    };
  // The words `cutover server` fails with for the same cause (core/listen-errors.ts).
  const target = { what: 'the proxy', key: 'server.proxy', host, port };
  const known = listenError(target, typeof free === 'string' ? free : null);
  return {
    id: 'router.proxy',
    status: 'fail',
    message: known?.message ?? `cannot listen on ${host}:${port} (${free})`,
    fix: known?.hint ?? inUseFix(target),
  };
}

async function checkDatabase(service: ServiceConfig): Promise<CheckResult> {
  const id = `database.${service.name}`;
  const database = service.database!;
  if (database.migrations !== null && !database.migrations.includes('${VERSION}')) {
    const stat = await fs.stat(database.migrations).catch(() => null);
    if (!stat?.isDirectory())
      return {
        id,
        status: 'fail',
        message: `${service.name}: the migrations directory ${database.migrations} does not exist`,
        fix: `Create it, or fix services.${service.name}.database.migrations.`,
      };
  }
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: database.url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    const version =
      (await client.query<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version ?? '?';
    return { id, status: 'ok', message: `${service.name}: PostgreSQL ${version} answers` };
  } catch (error) {
    return {
      id,
      status: 'fail',
      message: `${service.name}: cannot connect to its database: ${(error as Error).message}`,
      fix: `Check services.${service.name}.database.url and that the database server is up.`,
    };
  } finally {
    await client.end().catch(() => {});
  }
}
