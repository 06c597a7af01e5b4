import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { ProxyDaemon } from './proxy-daemon.js';
import type { ProxyProcessOptions } from './proxy-process-options.js';

/**
 * Entry point of the proxy process: `node proxy-daemon-main.js <control
 * socket> <options file>`. It says whether it started on file descriptor 3
 * (a pipe the launcher reads, then lets go), logs JSON lines to stdout (the
 * launcher points it at a file), and runs until a `stop` request or a
 * SIGTERM/SIGINT. It outlives the controller that started it: that is the
 * point of it.
 */
const [socketPath, optionsFile] = process.argv.slice(2);
const ORPHAN_CHECK_MS = 2_000;
const logger = pino({ base: { component: 'proxy' } });

function tellLauncher(message: object): void {
  try {
    fs.writeSync(3, `${JSON.stringify(message)}\n`);
    fs.closeSync(3);
  } catch {
    // No launcher listening (started by hand): the log says it all.
  }
}

async function main(): Promise<void> {
  if (socketPath === undefined || optionsFile === undefined) {
    throw new Error('usage: proxy-daemon-main.js <control socket> <options file>');
  }
  const options = JSON.parse(fs.readFileSync(optionsFile, 'utf8')) as ProxyProcessOptions;
  const daemon = await ProxyDaemon.start(socketPath, options, logger);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => void daemon.stop());
  // The controller's terminal going away is none of the proxy's business.
  process.on('SIGHUP', () => {});
  tellLauncher({ ready: true, pid: process.pid, listen: daemon.address });
  // Its state directory removed (cutover uninstalled, a test's temp dir deleted), no controller can ever reach this
  // proxy again, and a new one could not take its port: it stops rather than serve on unmanaged.
  const home = path.dirname(socketPath);
  const orphaned = setInterval(() => {
    if (!fs.existsSync(home)) {
      logger.warn({ dir: home }, 'the state directory is gone: stopping');
      clearInterval(orphaned);
      void daemon.stop();
    }
  }, ORPHAN_CHECK_MS);
  orphaned.unref();
  await daemon.stopped();
  logger.info('proxy process stopped');
  logger.flush();
}

process.on('uncaughtException', (error) => {
  logger.fatal({ err: error }, 'proxy process failed; the controller starts a new one');
  logger.flush();
  process.exit(1);
});

main().then(
  () => process.exit(0),
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    logger.error({ err: error }, 'proxy process could not start');
    tellLauncher({ ready: false, error: message, code: (error as NodeJS.ErrnoException).code ?? null });
    logger.flush();
    process.exit(1);
  },
);
