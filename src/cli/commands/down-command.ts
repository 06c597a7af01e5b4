import { createInterface } from 'node:readline/promises';
import { setTimeout as delay } from 'node:timers/promises';
import pino from 'pino';
import { loadConfig } from '../../config/load-config.js';
import { isCutoverError } from '../../core/errors.js';
import { startServer, stopLeftoverProxy } from '../../server/start-server.js';
import { AdminClient, resolveTarget } from '../admin-client.js';
import { EXIT, type ExitCode } from '../exit-codes.js';

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
  const config = await loadConfig(options.config);
  const services = Object.keys(config.services);
  if (!options.yes && !(await confirmed(services))) {
    process.stderr.write(
      'cutover down stops every instance and the proxy: traffic stops. Run `cutover down --yes` to do it.\n',
    );
    return EXIT.USAGE;
  }
  const client = new AdminClient(await resolveTarget(options));
  const asked = await client.request('POST', '/api/v1/down').then(
    () => true,
    (error: unknown) => {
      if (isCutoverError(error) && error.code === 'SERVER_UNREACHABLE') return false;
      throw error;
    },
  );
  if (asked) {
    process.stderr.write(`the server is stopping ${services.join(', ')} and the proxy...\n`);
    const deadline = Date.now() + SERVER_STOP_TIMEOUT_MS;
    while (await answers(client)) {
      if (Date.now() > deadline) {
        process.stderr.write(`the server still answers after ${SERVER_STOP_TIMEOUT_MS / 1000} s\n`);
        return EXIT.TIMED_OUT;
      }
      await delay(100);
    }
    await stopLeftoverProxy(config.server.stateDir);
  } else {
    // No server: one starts here, adopting what runs (the proxy, the instances) without starting what is
    // missing, and stops it all.
    const server = await startServer(config, { logger: pino({ level: 'warn' }, process.stderr), adoptOnly: true });
    await server.close();
  }
  process.stdout.write(`stopped: ${services.join(', ')} and the proxy\n`);
  return EXIT.OK;
}

async function answers(client: AdminClient): Promise<boolean> {
  try {
    await client.request('GET', '/healthz');
    return true;
  } catch {
    return false;
  }
}

async function confirmed(services: string[]): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(
      `Stop ${services.join(', ')} and the proxy? Traffic to them stops until the next deploy. [y/N] `,
    );
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
