import { loadConfig } from '../../config/load-config.js';
import { startServer } from '../../server/start-server.js';
import { TOKEN_FILE } from '../../http/admin-token.js';
import path from 'node:path';

/** `cutover server`: runs until SIGINT/SIGTERM, then stops every instance (no orphans) and exits 0. */
export async function runServer(options: { config: string }): Promise<number> {
  const config = await loadConfig(options.config);
  const server = await startServer(config);
  const tokenSource = process.env.CUTOVER_TOKEN ? 'CUTOVER_TOKEN' : path.join(config.server.stateDir, TOKEN_FILE);
  server.logger.info(
    { proxy: server.proxyUrl, admin: server.adminUrl, token: tokenSource, services: Object.keys(config.services) },
    `cutover is serving: proxy ${server.proxyUrl}, admin API ${server.adminUrl} (token in ${tokenSource})`,
  );
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      server.logger.info({ signal }, 'stopping: draining and stopping instances');
      server.close().then(
        () => resolve(0),
        (error: unknown) => {
          server.logger.error({ err: error }, 'error while stopping');
          resolve(1);
        },
      );
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}
