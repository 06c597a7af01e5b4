import { describeChanges } from '../../config/config-changes.js';
import { loadConfig } from '../../config/load-config.js';
import { startServer, type RunningServer } from '../../server/start-server.js';
import { TOKEN_FILE } from '../../http/admin-token.js';
import path from 'node:path';
import { serverLogDestination } from '../pretty-log-line.js';

/**
 * `cutover server`: runs until a signal or `cutover down`. SIGTERM and
 * SIGINT stop the controller only: the proxy process and every instance
 * serve on, and the next `cutover server` adopts them (an upgrade of
 * cutover is a restart of this). `cutover down` is the full stop.
 */
export async function runServer(options: { config: string }): Promise<number> {
  const config = await loadConfig(options.config);
  let stop: (how: 'detach' | 'down', why: string) => void = () => {};
  const server: RunningServer = await startServer(config, {
    leaveInstancesOnExit: true,
    logDestination: serverLogDestination(process.stdout),
    onDown: () => stop('down', 'cutover down'),
  });
  const tokenSource = process.env.CUTOVER_TOKEN ? 'CUTOVER_TOKEN' : path.join(config.server.stateDir, TOKEN_FILE);
  server.logger.info(
    { proxy: server.proxyUrl, admin: server.adminUrl, token: tokenSource, services: Object.keys(config.services) },
    `cutover is serving: proxy ${server.proxyUrl}, admin API ${server.adminUrl} (token in ${tokenSource})`,
  );
  return new Promise((resolve) => {
    let stopping = false;
    stop = (how, why) => {
      if (stopping) return;
      stopping = true;
      if (how === 'down') server.logger.warn({ why }, 'stopping everything: instances, the proxy, the server');
      else
        server.logger.info(
          { signal: why },
          'stopping the controller: the proxy and the instances serve on (`cutover down` stops them)',
        );
      (how === 'down' ? server.close() : server.detach()).then(
        () => resolve(0),
        (error: unknown) => {
          server.logger.error({ err: error }, 'error while stopping');
          resolve(1);
        },
      );
    };
    process.once('SIGINT', () => stop('detach', 'SIGINT'));
    process.once('SIGTERM', () => stop('detach', 'SIGTERM'));
    // SIGHUP, as nginx and HAProxy take it: read cutover.yaml again (`cutover reload` says the same over the API).
    const onHangUp = (): void => {
      if (stopping) return;
      server.reload('SIGHUP').then(
        (result) => server.logger.info({ changes: result.changes }, describeChanges(result.changes).join('; ')),
        (error: unknown) => server.logger.error({ err: error }, 'reload refused: the running config is unchanged'),
      );
    };
    process.on('SIGHUP', onHangUp);
  });
}
