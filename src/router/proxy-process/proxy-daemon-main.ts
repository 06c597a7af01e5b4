import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import type { ListeningHandle } from '../proxy/proxy-router.js';
import { ProxyDaemon } from './proxy-daemon.js';
import { Predecessor, type FromSuccessor, type TakeoverState, type ToSuccessor } from './proxy-handover.js';
import { proxyPaths } from './proxy-paths.js';
import type { ProxyProcessOptions } from './proxy-process-options.js';

/**
 * Entry point of the proxy process: `node proxy-daemon-main.js <control
 * socket> <options file> [--takeover]`. Started by the launcher, it binds
 * the port and says whether it started on file descriptor 3 (a pipe the
 * launcher reads, then lets go). Started by the proxy generation before it
 * (`--takeover`), it gets the listening socket and routes over the IPC
 * channel instead (see proxy-handover.ts). It logs JSON lines to stdout (a
 * file), and runs until a `stop` request, a SIGTERM/SIGINT, or its own
 * handover to a newer generation. It outlives the controller that started
 * it: that is the point of it.
 */
const [socketPath, optionsFile, mode] = process.argv.slice(2);
const ORPHAN_CHECK_MS = 2_000;
const logger = pino({ base: { component: 'proxy', pid: process.pid } });

function tellLauncher(message: object): void {
  try {
    fs.writeSync(3, `${JSON.stringify(message)}\n`);
    fs.closeSync(3);
  } catch {
    // No launcher listening (started by hand): the log says it all.
  }
}

function tellPredecessor(message: FromSuccessor): void {
  // A callback: a channel closing under the send reports here rather than as an uncaught error.
  if (process.connected) process.send?.(message, undefined, undefined, () => {});
}

/** How long a new generation waits for each step of the generation before it (see proxy-handover.ts). */
const TAKEOVER_STEP_TIMEOUT_MS = 30_000;

/**
 * The takeover message and the listening socket it carries, from the
 * generation before; an error when it does not come (that generation died
 * first): nothing was taken, and this process exits.
 */
function takeoverMessage(): Promise<{
  state: TakeoverState;
  listener: ListeningHandle;
  tlsListener?: ListeningHandle;
}> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no takeover message came')), TAKEOVER_STEP_TIMEOUT_MS);
    process.once('disconnect', () => reject(new Error('the previous generation went away before the takeover')));
    let taken: { state: TakeoverState; listener: ListeningHandle } | null = null;
    // One listener for both messages: a message that arrives with no listener on the event is lost.
    const onMessage = (message: ToSuccessor, handle: unknown): void => {
      if (taken === null) {
        if (message.type !== 'takeover' || handle === undefined) {
          finish();
          reject(new Error('expected a takeover with a socket'));
          return;
        }
        taken = { state: message.takeover, listener: handle as ListeningHandle };
        // The TLS socket follows in a message of its own when the old generation has a TLS listener.
        if (message.takeover.tlsListen === null || message.takeover.tlsListen === undefined) {
          finish();
          resolve(taken);
        }
        return;
      }
      finish();
      if (message.type !== 'takeover-tls' || handle === undefined) reject(new Error('expected the TLS socket'));
      else resolve({ ...taken, tlsListener: handle as ListeningHandle });
    };
    const finish = (): void => {
      clearTimeout(timer);
      process.off('message', onMessage);
    };
    process.on('message', onMessage);
  });
}

/**
 * Waits for the generation before to let go of the control socket. If it
 * dies first (or never says), this generation, which already serves its
 * routes on the socket, opens the control socket itself: the controller
 * reconnects to it, and no proxy is left that nobody can program.
 */
function controlHandedOver(daemon: ProxyDaemon): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, TAKEOVER_STEP_TIMEOUT_MS);
    process.once('disconnect', () => {
      clearTimeout(timer);
      resolve();
    });
    process.on('message', (message: ToSuccessor) => {
      if (message.type === 'open-control') {
        clearTimeout(timer);
        resolve();
      } else if (message.type === 'final-counters') daemon.inherit(message.counters);
    });
  });
}

async function main(): Promise<void> {
  if (socketPath === undefined || optionsFile === undefined) {
    throw new Error('usage: proxy-daemon-main.js <control socket> <options file> [--takeover]');
  }
  const options = JSON.parse(fs.readFileSync(optionsFile, 'utf8')) as ProxyProcessOptions;
  let daemon: ProxyDaemon;
  if (mode === '--takeover') {
    // The socket must be taken up in the same turn the message arrives (ProxyDaemon.create listens synchronously).
    const { state, listener, tlsListener } = await takeoverMessage();
    daemon = await ProxyDaemon.create(socketPath, options, logger, {
      ...state,
      listener,
      ...(tlsListener === undefined ? {} : { tlsListener }),
    });
    daemon.attachPredecessor(new Predecessor());
    tellPredecessor({ type: 'ready' });
    await controlHandedOver(daemon);
    await daemon.openControl();
    fs.writeFileSync(proxyPaths(path.dirname(path.dirname(socketPath))).pid, `${process.pid}\n`, { mode: 0o600 });
    tellPredecessor({ type: 'control-open', identity: daemon.whoAmI() });
    // The generation before exits once its connections have ended; this one lives on without it.
    if (process.connected) process.on('disconnect', () => logger.info('the previous proxy generation has gone'));
  } else {
    daemon = await ProxyDaemon.start(socketPath, options, logger);
    tellLauncher({ ready: true, pid: process.pid, listen: daemon.address });
  }
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => void daemon.stop());
  // The controller's terminal going away is none of the proxy's business.
  process.on('SIGHUP', () => {});
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
    tellPredecessor({ type: 'failed', error: message });
    logger.flush();
    process.exit(1);
  },
);
