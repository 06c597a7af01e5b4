import { createInterface } from 'node:readline/promises';
import { setTimeout as delay } from 'node:timers/promises';
import pino from 'pino';
import { loadConfig } from '../../config/load-config.js';
import { CutoverError, isCutoverError } from '../../core/errors.js';
import { startServer, stopLeftoverProxy } from '../../server/start-server.js';
import { AdminClient, resolveTarget } from '../admin-client.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { runOperation } from './operation-commands.js';

/** How long a running server may take to stop everything before `down` says so. */
const SERVER_STOP_TIMEOUT_MS = 120_000;

/**
 * `cutover down`: the deliberate full stop, since stopping `cutover server`
 * stops only the controller. With a server running, it asks it to stop
 * everything and waits until it has; without one, it adopts what the last
 * server left running (the proxy process, the instances) and stops that.
 */
export async function runDown(options: {
  config: string;
  url?: string;
  token?: string;
  yes: boolean;
}): Promise<ExitCode> {
  // A running server names its services and stops them: only the file's server section is read here, so
  // the services' secrets (`database.url: ${DATABASE_URL}`) need not be set. Without one, a server starts
  // here from the whole file to adopt what runs, and that needs them as `cutover server` does.
  const client = new AdminClient(await resolveTarget(options));
  const running = await serviceNamesOf(client);
  const config = running === null ? await loadConfig(options.config) : null;
  const services = running ?? Object.keys(config?.services ?? {});
  const question = `Stop ${services.join(', ')} and the proxy? Traffic to them stops until the next deploy. [y/N] `;
  if (!options.yes && !(await confirmed(question))) {
    process.stderr.write(
      'cutover down stops every instance and the proxy: traffic stops. Run `cutover down --yes` to do it.\n',
    );
    return EXIT.USAGE;
  }
  if (config === null) {
    await client.request('POST', '/api/v1/down');
    process.stderr.write(`the server is stopping ${services.join(', ')} and the proxy...\n`);
    const deadline = Date.now() + SERVER_STOP_TIMEOUT_MS;
    while (await answers(client)) {
      if (Date.now() > deadline) {
        process.stderr.write(`the server still answers after ${SERVER_STOP_TIMEOUT_MS / 1000} s\n`);
        return EXIT.TIMED_OUT;
      }
      await delay(100);
    }
    const local = await loadConfig(options.config, { serverOnly: true });
    await stopLeftoverProxy(local.server.stateDir);
  } else {
    // No server: one starts here, adopting what runs (the proxy, the instances) without starting what is
    // missing, and stops it all.
    const server = await startServer(config, { logger: pino({ level: 'warn' }, process.stderr), adoptOnly: true });
    await server.close();
  }
  process.stdout.write(`stopped: ${services.join(', ')} and the proxy\n`);
  return EXIT.OK;
}

/** The services the running server has, or null when none answers. */
async function serviceNamesOf(client: AdminClient): Promise<string[] | null> {
  try {
    const { services } = await client.request<{ services: { service: string }[] }>('GET', '/api/v1/services');
    return services.map(({ service }) => service);
  } catch (error) {
    if (isCutoverError(error) && error.code === 'SERVER_UNREACHABLE') return null;
    throw error;
  }
}

/**
 * `cutover down <service>`: one service stops and the others serve on. It is
 * an operation of the running server (under the service's deploy lock, drained
 * through the proxy, in the history), followed like a deploy. Without a
 * server it refuses rather than starting one here: a controller started only
 * to stop one service would adopt every service and leave the others
 * unsupervised again when it exits, and `cutover server` then this command
 * does the same with the controller that keeps watching them.
 */
export async function runServiceDown(options: {
  config: string;
  url?: string;
  token?: string;
  service: string;
  yes: boolean;
  json: boolean;
  timeoutMs: number | null;
}): Promise<ExitCode> {
  const { service } = options;
  // Before asking: a typo must not be confirmed first and refused after. The running server knows its
  // services (the file may have changed since it loaded it, and its secrets need not be set here).
  const client = new AdminClient(await resolveTarget(options));
  const services = await serviceNamesOf(client);
  if (services === null)
    throw new CutoverError('SERVER_UNREACHABLE', `${client.url}: stopping one service needs the server`, {
      hint: `Start it (\`cutover server\`), then run \`cutover down ${service}\` again; \`cutover down\` without a service stops everything without one.`,
    });
  if (!services.includes(service))
    throw new CutoverError('SERVICE_NOT_FOUND', `no service '${service}' on the server at ${client.url}`, {
      hint: `Its services are: ${services.join(', ')}.`,
    });
  const question = `Stop ${service}? Its hosts answer 503 until the next deploy or rollback; the other services serve on. [y/N] `;
  if (!options.yes && !(await confirmed(question))) {
    process.stderr.write(
      `cutover down ${service} stops every instance of ${service}: its traffic stops. Run \`cutover down ${service} --yes\` to do it.\n`,
    );
    return EXIT.USAGE;
  }
  try {
    return await runOperation(
      client,
      `/api/v1/services/${encodeURIComponent(service)}/down`,
      {},
      {
        json: options.json,
        wait: true,
        timeoutMs: options.timeoutMs,
      },
    );
  } catch (error) {
    if (isCutoverError(error) && error.code === 'SERVER_UNREACHABLE')
      throw new CutoverError('SERVER_UNREACHABLE', `${error.message}: stopping one service needs the server`, {
        hint: `Start it (\`cutover server\`), then run \`cutover down ${service}\` again; \`cutover down\` without a service stops everything without one.`,
      });
    throw error;
  }
}

async function answers(client: AdminClient): Promise<boolean> {
  try {
    await client.request('GET', '/healthz');
    return true;
  } catch {
    return false;
  }
}

async function confirmed(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(question);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
