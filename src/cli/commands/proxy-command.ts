import type { AdminClient } from '../admin-client.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { printJson } from '../output.js';

interface ProxyRestartAnswer {
  proxy: { pid: number; generation: string; workers: number };
}

/**
 * `cutover proxy restart`: the server asks the running proxy to hand its
 * listening socket to a new generation (see proxy-handover.ts). Returns once
 * the new generation serves and the server programs it; the old one winds
 * down on its own.
 */
export async function runProxyRestart(client: AdminClient, json: boolean): Promise<ExitCode> {
  const answer = await client.request<ProxyRestartAnswer>('POST', '/api/v1/proxy/restart');
  if (json) printJson(answer);
  else {
    const { pid, generation, workers } = answer.proxy;
    process.stdout.write(
      `proxy restarted: generation ${generation}, pid ${pid}, ${workers} worker${workers === 1 ? '' : 's'}; the previous generation finishes its requests and exits\n`,
    );
  }
  return EXIT.OK;
}
