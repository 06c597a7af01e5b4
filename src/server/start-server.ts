import net from 'node:net';
import path from 'node:path';
import pino, { type DestinationStream, type Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import { loadOrCreateSdkToken, loadOrCreateToken } from '../http/admin-token.js';
import type { FlagRolloutRunner } from '../flags/flag-rollout-runner.js';
import type { FlagService } from '../flags/flag-service.js';
import type { FlagScheduler } from '../flags/flag-scheduler.js';
import type { Clock } from '../core/clock.js';
import { SecretRedactor, secretValuesOf } from '../config/secret-redactor.js';
import { ConfigReloader, type ReloadResult } from './config-reload.js';
import type { CutoverConfig, UpstreamTrafficConfig } from '../config/types.js';
import { Controller } from '../controller/controller.js';
import { Notifier } from '../notify/notifier.js';
import type { Router } from '../router/index.js';
import type { RouterTrafficSettings } from '../router/router-traffic-settings.js';
import type { InstanceEjectionEvent } from '../router/proxy/passive-health.js';
import type { UpstreamPolicy } from '../router/proxy/proxy-router.js';
import { connectOrStartProxy, PROXY_BUILD, stopProxyProcess } from '../router/proxy-process/proxy-process-launcher.js';
import { proxyProcessOptions } from '../router/proxy-process/proxy-process-options.js';
import { RemoteProxyRouter } from '../router/proxy-process/remote-proxy-router.js';
import { dockerRuntimeForConfig } from '../runtime/docker/docker-runtime-for-config.js';
import type { Runtime } from '../runtime/index.js';
import { swarmRuntimeForConfig } from '../runtime/swarm/swarm-runtime-for-config.js';
import { kubernetesRuntimeForConfig } from '../runtime/kubernetes/kubernetes-runtime-for-config.js';
import { killAllInstanceGroupsSync, ProcessRuntime } from '../runtime/process/process-runtime.js';
import { RuntimeByService } from '../runtime/runtime-by-service.js';
import { removeReleaseLogs, startLogRotation } from '../runtime/process/log-rotation.js';
import { LogClock } from '../runtime/process/log-clock.js';
import { systemClock } from '../clock/system-clock.js';
import { listenError } from '../core/listen-errors.js';
import { ensurePrivateDir } from '../store/private-files.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { ServerCertificates } from './server-certificates.js';

/**
 * The composition root of `cutover server`: the controller, the runtimes and
 * the admin API in this process, and the proxy (the default router) in a
 * process of its own that it starts or, after a restart, adopts, so traffic
 * outlives the controller. Adapters are chosen here and nowhere else.
 */
export interface RunningServer {
  config: CutoverConfig;
  controller: Controller;
  /** The embedded proxy, nginx with `server.router: nginx`, or HAProxy with `server.router: haproxy`. */
  router: Router;
  api: FastifyInstance;
  adminUrl: string;
  proxyUrl: string;
  token: string;
  /** The token applications give the flag SDK: it may only read flags and report evaluations. */
  sdkToken: string;
  flags: FlagService;
  flagRollouts: FlagRolloutRunner;
  logger: Logger;
  /** The full stop (`cutover down`, tests): every instance and the proxy process stop. */
  close(): Promise<void>;
  /**
   * The controller stops and nothing else does (SIGTERM, an upgrade): the proxy process and every
   * instance serve on, and the next `cutover server` adopts them.
   */
  detach(): Promise<void>;
  /** `cutover reload` / SIGHUP: validate cutover.yaml again and apply its live part (src/config/config-changes.ts). */
  reload(actor: string): Promise<ReloadResult>;
}

export interface StartServerOptions {
  /** A logger of the caller's; without one, the server logs JSON lines to `logDestination` with every secret redacted. */
  logger?: Logger;
  /** Where the server's own logger writes (default: stdout). */
  logDestination?: DestinationStream;
  env?: NodeJS.ProcessEnv;
  /**
   * When this process exits without close() or detach() (an uncaught error), leave the instances running
   * for the next start to adopt (`cutover server`), rather than kill them (tests, the demo: no orphans).
   */
  leaveInstancesOnExit?: boolean;
  /** Takes back what runs without starting missing instances: a start only to stop everything (`cutover down`). */
  adoptOnly?: boolean;
  /** The flag feature's clock (scheduled changes, stale flags); tests inject a ManualClock. Default: the wall clock. */
  clock?: Clock;
  /** `POST /api/v1/down` (`cutover down`) calls this; without it the route answers 404. */
  onDown?: () => void;
}

export async function startServer(config: CutoverConfig, options: StartServerOptions = {}): Promise<RunningServer> {
  const { stateDir } = config.server;
  // Tokens, the database, backups and the apps' logs live here: other users of the machine must not read them.
  const looserMode = ensurePrivateDir(stateDir);
  // Before anything opens: a weak token stops the start with nothing to clean up.
  const token = loadOrCreateToken(stateDir, options.env);
  const sdkToken = loadOrCreateSdkToken(stateDir, options.env);
  // Every exit (API answers, /metrics, logs, the dashboard stream, notifications) goes through this.
  const redactor = new SecretRedactor(secretValuesOf(config, [token, sdkToken]));
  const logger =
    options.logger ??
    pino(
      { base: { component: 'cutover' }, hooks: { streamWrite: (line) => redactor.redactText(line) } },
      options.logDestination ?? process.stdout,
    );
  if (looserMode !== null) {
    logger.warn(
      { stateDir, mode: `0${looserMode.toString(8)}`, now: '0700' },
      `the state directory ${stateDir} was readable by other users (mode 0${looserMode.toString(8)}): tightened it to 0700`,
    );
  }
  // Before anything is adopted: a second `cutover server` for the same config (systemd's and a person's) would
  // take over the proxy and the instances the running one serves with, and stop them when its own admin
  // address turned out to be taken.
  await ensureAdminAddressFree(config);
  // Before anything opens or changes: a certificate that does not load or does not fit its hosts stops the start.
  const certificates = new ServerCertificates({ config, logger, clock: systemClock });
  const store = SqliteStore.open(stateDir);
  let flags: FlagService | null = null;
  let flagRollouts: FlagRolloutRunner | null = null;
  let flagScheduler: FlagScheduler | null = null;
  const logDir = path.join(stateDir, 'logs');
  // Dates the instances' log lines from now on, so `cutover logs` merges a release's instances by time.
  const logClock = new LogClock();
  const logClockWatch = logClock.watch(logDir);
  const processRuntime = new ProcessRuntime({ logDir, logger });
  // Each service runs on the runtime its config names; the docker, swarm and kubernetes ones exist only if some service uses them.
  const dockerRuntime = await dockerRuntimeForConfig(config, { logDir, logger, env: options.env ?? process.env });
  const swarmRuntime = await swarmRuntimeForConfig(config, { logDir, logger, env: options.env ?? process.env });
  const kubernetesRuntime = await kubernetesRuntimeForConfig(config, {
    logDir,
    logger,
    env: options.env ?? process.env,
  });
  const byKind: Record<string, Runtime | null> = {
    docker: dockerRuntime,
    swarm: swarmRuntime,
    kubernetes: kubernetesRuntime,
  };
  const runtimeOf = (kind: string): Runtime => byKind[kind] ?? processRuntime;
  const runtime =
    dockerRuntime === null && swarmRuntime === null && kubernetesRuntime === null
      ? processRuntime
      : new RuntimeByService(
          new Map(Object.values(config.services).map((s) => [s.name, runtimeOf(s.runtime)])),
          processRuntime,
        );
  // Deploy events go to the notification targets through queues of their own, off the deploy's path.
  const notifier = new Notifier(config.notifications, {
    logger,
    redactor,
    versionOf: (id) => store.getRelease(id)?.version ?? null,
  });
  let router: Router | null = null;
  let controller: Controller | null = null;
  let api: FastifyInstance | null = null;
  let configReloader: ConfigReloader | null = null;
  try {
    // The proxy starts before the controller that records its events: an ejection reported in between is only logged.
    let recordEjection: ((event: InstanceEjectionEvent) => void) | null = null;
    router = await routerFor(config, logger, (event) => recordEjection?.(event));
    controller = new Controller({
      config,
      store,
      runtime,
      router,
      logger,
      redactor,
      removeReleaseLogs: (service, releaseId) => removeReleaseLogs(logDir, service, releaseId),
      certificates: certificates.initial,
    });
    const events = controller.events;
    recordEjection = (event) => {
      events.record({
        operationId: null,
        service: event.service,
        releaseId: event.releaseId,
        type: event.type,
        level: event.type === 'instance.ejected' ? 'warn' : 'info',
        message:
          event.type === 'instance.ejected'
            ? `instance ${event.upstreamId} taken out of rotation for ${event.ejectedForMs ?? 0} ms after ${event.failures ?? 0} failures in a row (last: ${event.reason ?? '?'})`
            : `instance ${event.upstreamId} back in rotation`,
        data: {
          instance: event.upstreamId,
          reason: event.reason,
          failures: event.failures,
          ejectedForMs: event.ejectedForMs,
        },
      });
    };
    controller.events.onRecord(notifier.onEvent);
    await controller.start(runtime, { fillMissing: options.adoptOnly !== true });
    const started = controller;
    certificates.attach({
      router,
      apply: (next) => started.replaceCertificates(next),
      record: (event) => started.events.record({ operationId: null, releaseId: null, ...event }),
    });
    // Stored ACME certificates are served at once; missing or due ones are ordered in the background.
    await certificates.start();
    // Loaded only now, like the admin API below: after a crash the routes are back (and traffic flows)
    // before the flag server's and the database's modules (pg, PostgreSQL's parser) have been read.
    const [{ createFlagFeature }, { BackupStore }, { ServiceMigrations }, { deployLinter }] = await Promise.all([
      import('../flags/flag-feature.js'),
      import('../store/backup-store.js'),
      import('../migrate/service-migrations.js'),
      import('../migrate/deploy-linter.js'),
    ]);
    started.attachMigrations(
      new ServiceMigrations({
        backups: new BackupStore(store.connection),
        stateDir,
        pgBinDir: options.env?.PG_BIN ?? process.env.PG_BIN ?? null,
        lint: deployLinter(),
        record: (event) => {
          started.events.record(event);
        },
      }),
    );
    const flagFeature = createFlagFeature(store.connection, {
      environments: config.flags.environments,
      clock: options.clock ?? systemClock,
      staleAfterMs: config.flags.staleAfterMs,
      requireApproval: config.flags.requireApproval,
      events: controller.events,
      templates: () => started.config.analysis,
      providerFor: controller.providerFor,
      activeReleaseOf: (service) => {
        started.service(service);
        return started.activeRelease(service)?.id ?? null;
      },
    });
    flags = flagFeature.service;
    flagRollouts = flagFeature.rollouts;
    flagRollouts.recover();
    flagScheduler = flagFeature.scheduler;
    // What fell due while the server was down is carried out now, once; then the timer waits for the next.
    flagScheduler.start();
    // Loaded only now: after a crash the routes are back (and traffic flows) before
    // the admin API's modules (fastify, prom-client) have even been read.
    const [{ buildAdminApi }, { registerDashboard }] = await Promise.all([
      import('../api/admin-api.js'),
      import('../dashboard/dashboard-routes.js'),
    ]);
    const reloader = new ConfigReloader({ controller: started, notifier, logger, env: options.env, certificates });
    configReloader = reloader;
    await reloader.remember();
    // The dashboard is mounted here, on the admin server, so the API and the dashboard never import each other.
    api = await buildAdminApi({
      controller,
      token,
      sdkToken,
      logDir,
      logClock,
      flags,
      flagRollouts,
      flagScheduler: flagFeature.scheduler,
      flagApprovals: flagFeature.approvals,
      flagHygiene: flagFeature.hygiene,
      clientTokens: flagFeature.clientTokens,
      redactor,
      ...(options.onDown === undefined ? {} : { down: options.onDown }),
      config: reloader,
      certificates,
      mount: (app, shared) =>
        registerDashboard(app, {
          controller: started,
          token,
          flags: flagFeature.service,
          flagHygiene: flagFeature.hygiene,
          ...shared,
        }).access,
    });
    await listenAdmin(api, config);
  } catch (error) {
    certificates.close();
    await api?.close().catch(() => {});
    flagScheduler?.close();
    await flagRollouts?.close().catch(() => {});
    // A failed start must not cost traffic: a proxy process that served before it keeps serving, and so do the
    // instances it adopted, as after a stop of the server. Only a proxy in this process (tests) takes them along.
    if (router === null || router.detach !== undefined) {
      await controller?.detach().catch(() => {});
      await runtime.detach().catch(() => {});
    } else {
      await controller?.close().catch(() => {});
      await runtime.close().catch(() => {});
    }
    if (router instanceof RemoteProxyRouter && !router.startedHere) await router.detach();
    else await router?.close().catch(() => {});
    await notifier.close().catch(() => {});
    logClockWatch.stop();
    store.close();
    throw error;
  }
  // Last resort against orphans where nothing else will adopt them (tests, the demo): kill the instance groups.
  const onExit = (): void => {
    if (options.leaveInstancesOnExit !== true) killAllInstanceGroupsSync();
  };
  const logRotation = startLogRotation({
    logDir,
    maxBytes: config.server.logs.maxBytes,
    keep: config.server.logs.keep,
    logger,
  });
  process.on('exit', onExit);

  const adminAddress = api.server.address();
  const adminPort = typeof adminAddress === 'object' && adminAddress ? adminAddress.port : config.server.admin.port;
  const proxyAddress = router instanceof RemoteProxyRouter ? router.address : config.server.proxy;
  let closing: Promise<void> | null = null;
  // `close` (the full stop) and `detach` (the controller only) differ in what the controller, runtime and router do.
  const stop = (full: boolean): Promise<void> => {
    closing ??= (async () => {
      certificates.close();
      logRotation.stop();
      logClockWatch.stop();
      await finalApi.close();
      finalScheduler.close();
      await finalRollouts.close();
      if (full) {
        await finalController.close();
        await runtime.close();
        await finalRouter.close();
      } else {
        await finalController.detach();
        await runtime.detach();
        // The proxy process (and nginx) serve on; the in-process proxy of a test cannot, and closes.
        await (finalRouter.detach ? finalRouter.detach() : finalRouter.close());
      }
      await notifier.close();
      store.close();
      process.off('exit', onExit);
    })();
    return closing;
  };
  const finalApi = api;
  const finalController = controller;
  const finalRouter = router;
  const finalRollouts = flagRollouts;
  const finalScheduler = flagScheduler;
  const finalReloader = configReloader;
  return {
    config,
    controller,
    router,
    api,
    adminUrl: `http://${formatHost(config.server.admin.host)}:${adminPort}`,
    proxyUrl: `http://${formatHost(proxyAddress.host)}:${proxyAddress.port}`,
    token,
    sdkToken,
    flags,
    flagRollouts: finalRollouts,
    logger,
    close: () => stop(true),
    detach: () => stop(false),
    reload: (actor) => finalReloader.reload(actor),
  };
}

/** The admin API on server.admin; a taken, forbidden or foreign address is the user's to fix, and says how. */
async function listenAdmin(api: FastifyInstance, config: CutoverConfig): Promise<void> {
  try {
    await api.listen(config.server.admin);
  } catch (error) {
    throw adminListenError(config, error);
  }
}

/** Binds server.admin for a moment: refused now, nothing has been adopted or changed yet. */
async function ensureAdminAddressFree(config: CutoverConfig): Promise<void> {
  if (config.server.admin.port === 0) return;
  const probe = net.createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen(config.server.admin, resolve);
    });
  } catch (error) {
    throw adminListenError(config, error);
  } finally {
    await new Promise<void>((resolve) => (probe.listening ? probe.close(() => resolve()) : resolve()));
  }
}

function adminListenError(config: CutoverConfig, error: unknown): unknown {
  const { host, port } = config.server.admin;
  return (
    listenError(
      {
        what: 'the admin API',
        key: 'server.admin',
        host,
        port,
        alreadyRunningHint:
          'If it is a cutover server already running for this config, `cutover status` talks to it and `cutover down` stops it.',
      },
      (error as NodeJS.ErrnoException).code,
      error,
    ) ?? error
  );
}

/**
 * The proxy process by default (started, or adopted after a restart); nginx (loaded only then) attaches to the
 * team's running nginx; haproxy starts or adopts cutover's own HAProxy.
 */
async function routerFor(
  config: CutoverConfig,
  logger: Logger,
  onInstanceEjection: (event: InstanceEjectionEvent) => void,
): Promise<Router> {
  const haproxy = config.server.router === 'haproxy' ? config.server.haproxy : undefined;
  if (haproxy !== undefined) {
    const { HaproxyRouter } = await import('../router/haproxy/haproxy-router.js');
    // Started, or adopted from the last run (it outlives cutover): see HaproxyRouter.start.
    return HaproxyRouter.start({
      binary: haproxy.binary,
      listen: config.server.proxy,
      stateDir: path.join(config.server.stateDir, 'haproxy'),
      threads: haproxy.threads,
      verifyTimeoutMs: haproxy.verifyTimeoutMs,
      trustedProxies: config.server.trustedProxies,
      traffic: routerTraffic(config),
      logger,
    });
  }
  const nginx = config.server.router === 'nginx' ? config.server.nginx : undefined;
  if (nginx === undefined) {
    const { server } = config;
    const options = proxyProcessOptions(
      {
        host: server.proxy.host,
        port: server.proxy.port,
        ...(server.https === undefined
          ? {}
          : { https: { host: server.https.host, port: server.https.port }, redirectHttp: server.redirectHttp }),
        trustedProxies: server.trustedProxies,
        maxConnections: server.maxConnections,
        clientHeadersTimeoutMs: server.clientTimeouts.headersMs,
        clientRequestTimeoutMs: server.clientTimeouts.requestMs,
        clientKeepAliveTimeoutMs: server.clientTimeouts.keepAliveMs,
        services: Object.fromEntries(
          Object.values(config.services).map((service) => [service.name, upstreamPolicyOf(service.traffic)]),
        ),
      },
      server.proxyWorkers,
      PROXY_BUILD,
    );
    return connectOrStartProxy({
      stateDir: server.stateDir,
      options,
      logger,
      onInstanceEjection,
      handoverDrainMs: handoverDrainMs(config),
    });
  }
  const { NginxRouter } = await import('../router/nginx/nginx-router.js');
  return NginxRouter.attach({
    binary: nginx.binary,
    mainConfig: nginx.mainConfig,
    includeFile: nginx.includeFile,
    listen: config.server.proxy,
    ...(config.server.https === undefined
      ? {}
      : {
          https: { host: config.server.https.host, port: config.server.https.port },
          redirectHttp: config.server.redirectHttp,
        }),
    stateDir: config.server.stateDir,
    verifyTimeoutMs: nginx.verifyTimeoutMs,
    trustedProxies: config.server.trustedProxies,
    traffic: routerTraffic(config),
    logger,
    ...(nginx.pidFile === undefined ? {} : { pidFile: nginx.pidFile }),
    ...(nginx.prefix === undefined ? {} : { prefix: nginx.prefix }),
  });
}

/** The client and instance settings nginx and HAProxy render (the proxy process takes them as options above). */
function routerTraffic(config: CutoverConfig): RouterTrafficSettings {
  return {
    clientHeadersTimeoutMs: config.server.clientTimeouts.headersMs,
    clientKeepAliveTimeoutMs: config.server.clientTimeouts.keepAliveMs,
    maxConnections: config.server.maxConnections,
    services: Object.fromEntries(Object.values(config.services).map((service) => [service.name, service.traffic])),
  };
}

/** What upgraded connections get on a proxy generation that hands over: the longest drain any service allows. */
function handoverDrainMs(config: CutoverConfig): number {
  return Math.max(0, ...Object.values(config.services).map((service) => service.drainTimeoutMs));
}

function upstreamPolicyOf(traffic: UpstreamTrafficConfig): UpstreamPolicy {
  return {
    connections: traffic.connectionsPerInstance,
    pending: traffic.pendingPerInstance,
    connectTimeoutMs: traffic.connectTimeoutMs,
    headersTimeoutMs: traffic.responseHeadersTimeoutMs,
    bodyTimeoutMs: traffic.idleTimeoutMs,
    passiveHealth: { ...traffic.passiveHealth },
  };
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** `cutover down` after the server stopped: the proxy process of a state directory, if one still runs. */
export function stopLeftoverProxy(stateDir: string): Promise<boolean> {
  return stopProxyProcess(stateDir);
}
