import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { RouterTrafficSettings } from '../router-traffic-settings.js';
import type { Cidr } from '../../config/cidr.js';
import { CutoverError } from '../../core/errors.js';
import type { AcmeChallenges, ReleaseCounters, Router, ServiceRoute } from '../index.js';
import { AccessLogCounters } from './access-log-counters.js';
import { AccessLogTail } from './access-log-tail.js';
import { CoalescingApplyQueue } from './coalescing-apply-queue.js';
import { waitForGeneration } from './generation-probe.js';
import { upstreamName } from './nginx-names.js';
import {
  discoverPidFile,
  NGINX_NOT_RUNNABLE,
  nginxErrorLine,
  runNginx,
  runningMasterPid,
  workerProcesses,
  type NginxCommand,
} from './nginx-process.js';
import { GENERATION_LINE, renderNginxConfig } from './render-nginx-config.js';
import { assertCertificatesLoad } from './certificate-check.js';
import { filesDirOf, filesForRoutes, pruneNginxFiles, writeNginxFiles } from './nginx-edge-files.js';
import { ensurePrivateDir, ensurePrivateFile, PRIVATE_FILE_MODE } from '../../store/private-files.js';

export interface NginxRouterOptions {
  /** The nginx binary (default `nginx`, from PATH). */
  binary?: string;
  /** The team's nginx.conf, passed as `-c` to every nginx command. */
  mainConfig: string;
  /** The file cutover owns; mainConfig must `include` it inside `http {}`. */
  includeFile: string;
  /** Where cutover's server blocks listen. No server of the team's may listen there too. */
  listen: { host: string; port: number };
  /** The TLS listener (`server.https`): hosts with a certificate are served there (`ssl http2`), by SNI. */
  https?: { host: string; port: number };
  /** With `https`: plain requests for a name with a certificate get 308 to HTTPS (`server.redirect_http`). */
  redirectHttp?: boolean;
  /** Holds the access log cutover counts from and a copy of the last applied config. */
  stateDir: string;
  /** The master's pid file, when `nginx -T` cannot tell (default: its `pid` directive, else the built-in path). */
  pidFile?: string;
  /** `-p` for nginx commands, when the team's nginx runs with a prefix of its own. */
  prefix?: string;
  /** Idle keep-alive connections per worker and release (default 32). */
  keepalive?: number;
  /** How long a reload has to show its generation on the control endpoint (default 5 s). */
  verifyTimeoutMs?: number;
  /** `server.trusted_proxies`: whose X-Forwarded-*, X-Real-IP and Forwarded are believed (none by default). */
  trustedProxies?: readonly Cidr[];
  /** Client timeouts, and each service's instance timeouts and limits (cutover's defaults when absent). */
  traffic?: RouterTrafficSettings;
  logger?: Logger;
}

/** How often the access log is read between `counters()` calls, so a call has little to catch up on. */
const LOG_READ_INTERVAL_MS = 1_000;
/** Between two looks at the old workers while a drain waits. */
const DRAIN_POLL_MS = 50;

/**
 * The `Router` for teams that keep nginx in front: cutover renders the file
 * it owns in the team's config (render-nginx-config.ts), has `nginx -t`
 * check it, reloads the running master and waits until the new generation
 * answers. A failed check or reload puts the last good file back, so what
 * serves is always a config nginx accepted and cutover verified.
 *
 * Applies run one at a time; route and health changes made during one are
 * folded into the next (CoalescingApplyQueue). Counters come from the access
 * log cutover's servers write (access-log-counters.ts).
 *
 * Unlike the embedded proxy, a switch is not atomic in-process: nginx starts
 * new workers and gracefully stops the old ones, which finish the requests
 * they have in flight with the old config and close their idle keep-alive
 * connections (docs/nginx-router.md says what clients see).
 */
export class NginxRouter implements Router {
  readonly kind = 'nginx';
  /** Rendered as a 503 location per service: the page is a file nginx serves (render-nginx-servers.ts). */
  readonly supportsMaintenance = true;
  /** With `https`: `ssl http2` listens with the routes' certificates, written next to the include file. */
  readonly supportsTls: boolean;
  private readonly command: NginxCommand;
  private readonly options: NginxRouterOptions;
  private readonly logger: Logger | undefined;
  private readonly pidFile: string;
  private readonly accessLogPath: string;
  private readonly lastGoodPath: string;
  /** The certificates and maintenance pages the rendered file points at (nginx-edge-files.ts). */
  private readonly filesDir: string;
  /** The HTTP-01 answers the next apply renders (the last set given). */
  private pendingHttp01: Record<string, string> = {};
  /** Certificate pairs that loaded (by hash): see assertCertificatesLoad. */
  private readonly loadedCertificates = new Set<string>();
  private readonly queue = new CoalescingApplyQueue(() => this.applyOnce());
  private readonly tail: AccessLogTail;
  private readonly counterSet = new AccessLogCounters();
  /** The routes nginx serves (the last verified apply). */
  private committed = new Map<string, ServiceRoute>();
  /** Routes set since the last apply started; the next apply takes them. */
  private pending = new Map<string, ServiceRoute>();
  private readonly unhealthy = new Set<string>();
  /** Every upstream id routed in this run, so drainUpstream can tell unknown ids. */
  private readonly knownUpstreams = new Set<string>();
  private lastGoodText: string;
  /** Generations are `<run>-<n>`: a random run id, so a file left by an earlier run can never pass as this run's apply. */
  private readonly runId = randomBytes(4).toString('hex');
  private applies = 0;
  private readonly logTimer: NodeJS.Timeout;
  private closed = false;

  private constructor(options: NginxRouterOptions, pidFile: string, lastGoodText: string) {
    this.options = options;
    this.logger = options.logger;
    this.command = {
      binary: options.binary ?? 'nginx',
      mainConfig: options.mainConfig,
      ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
    };
    this.pidFile = pidFile;
    this.accessLogPath = path.resolve(options.stateDir, 'nginx-access.log');
    this.lastGoodPath = path.resolve(options.stateDir, 'nginx-last-good.conf');
    this.lastGoodText = lastGoodText;
    this.filesDir = filesDirOf(options.includeFile);
    this.supportsTls = options.https !== undefined;
    this.tail = new AccessLogTail(this.accessLogPath);
    this.logTimer = setInterval(() => this.readAccessLog(), LOG_READ_INTERVAL_MS);
    this.logTimer.unref();
  }

  /**
   * Attaches to the team's running nginx: finds its master (ROUTER_UNAVAILABLE
   * naming the main config when none runs). On a first run (no include file
   * yet) it applies a config with no service, which proves the whole
   * check-reload-verify path before the first deploy needs it. After a
   * restart it leaves the file alone: nginx keeps serving the routes of the
   * previous run until the controller's recovery sets them again (in one
   * apply, see recovery.ts), so a restart of cutover costs no request.
   */
  static async attach(options: NginxRouterOptions): Promise<NginxRouter> {
    const command: NginxCommand = {
      binary: options.binary ?? 'nginx',
      mainConfig: options.mainConfig,
      ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
    };
    ensurePrivateDir(options.stateDir);
    // nginx's master opens its access log with O_CREAT and keeps an existing file's mode: make it 0600 first.
    ensurePrivateFile(path.resolve(options.stateDir, 'nginx-access.log'));
    let lastGoodText = '# cutover writes this file\n';
    let firstRun = false;
    try {
      lastGoodText = fs.readFileSync(options.includeFile, 'utf8');
    } catch {
      // A first run: the main config's `include` needs the file to exist before nginx can even read the config.
      writeFileAtomic(options.includeFile, lastGoodText);
      firstRun = true;
    }
    let pidFile = options.pidFile;
    if (pidFile === undefined) {
      const found = await discoverPidFile(command);
      if ('error' in found) {
        throw new CutoverError(
          'ROUTER_UNAVAILABLE',
          `cannot use nginx with main config ${options.mainConfig}: ${found.error}`,
          {
            hint: `Fix the config (nginx -t -c ${options.mainConfig} shows the error), or set server.nginx.pid_file.`,
          },
        );
      }
      pidFile = found.pidFile;
    }
    if (runningMasterPid(pidFile) === null) {
      throw new CutoverError(
        'ROUTER_UNAVAILABLE',
        `nginx is not running with main config ${options.mainConfig}: no live master in pid file ${pidFile}`,
        {
          hint: `Start it (nginx -c ${options.mainConfig}), or point server.nginx.pid_file at the running master's pid file.`,
        },
      );
    }
    const router = new NginxRouter(options, pidFile, lastGoodText);
    if (firstRun) {
      try {
        await router.queue.request();
      } catch (error) {
        await router.close();
        throw error;
      }
    }
    router.logger?.info(
      { mainConfig: options.mainConfig, includeFile: options.includeFile, pidFile, listen: options.listen },
      'nginx router attached',
    );
    return router;
  }

  /** Resolves once nginx serves the route (its generation answered); rejects with the previous route still serving. */
  setRoute(route: ServiceRoute): Promise<void> {
    if (this.closed) return Promise.reject(new CutoverError('ROUTER_UNAVAILABLE', 'the nginx router is closed'));
    // Render the candidate now: a route the renderer refuses fails alone instead of failing the batch it would join.
    const candidate = new Map([...this.committed, ...this.pending]);
    candidate.set(route.service, route);
    try {
      this.render([...candidate.values()], 'check');
      // As the proxy does: a pair that does not load rejects this route alone, naming it (nginx -t would refuse the batch).
      assertCertificatesLoad(route, this.loadedCertificates);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    this.pending.set(route.service, route);
    return this.queue.request();
  }

  /** Recorded at once; nginx learns it with the next apply, scheduled here in the background (a failure is logged). */
  setUpstreamHealthy(upstreamId: string, healthy: boolean): void {
    if (healthy === !this.unhealthy.has(upstreamId)) return;
    if (healthy) this.unhealthy.delete(upstreamId);
    else this.unhealthy.add(upstreamId);
    if (this.closed || !this.routesUpstream(upstreamId)) return;
    this.queue.request().catch((error: unknown) => {
      this.logger?.error(
        { err: error, upstream: upstreamId, healthy },
        'nginx did not take an upstream health change; it is retried with the next apply',
      );
    });
  }

  /**
   * HTTP-01 answers are rendered into the file (an exact location per token,
   * for any host) and resolve once nginx serves them, so the CA is told to
   * look only then. nginx has no hook for TLS-ALPN-01 (`acme-tls/1` needs
   * the certificate chosen by ALPN), so those are refused: the config
   * refuses `tls: { acme: tls-alpn-01 }` with router nginx at load already.
   */
  setAcmeChallenges(challenges: AcmeChallenges): Promise<void> {
    if (this.closed) return Promise.reject(new CutoverError('ROUTER_UNAVAILABLE', 'the nginx router is closed'));
    if (Object.keys(challenges.tlsAlpn01).length > 0)
      return Promise.reject(
        new CutoverError('ROUTER_UNSUPPORTED', 'the nginx router cannot answer TLS-ALPN-01 challenges', {
          hint: 'Use HTTP-01 with nginx (tls: acme, the default challenge).',
        }),
      );
    const http01 = { ...challenges.http01 };
    try {
      renderNginxConfig({
        ...this.renderInput([...this.committed.values(), ...this.pending.values()]),
        generation: 'check',
        acmeHttp01: http01,
      });
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    this.pendingHttp01 = http01;
    return this.queue.request();
  }

  /**
   * nginx cannot drain one release: a reload gracefully stops every worker
   * of the previous generation, and each finishes its in-flight requests
   * (and upgraded connections) with the old config. So this waits until no
   * worker of the master is "shutting down" any more. `closed` is the number
   * of such workers still alive at the timeout: cutover does not kill them
   * (that would cut requests of every service), nginx's
   * `worker_shutdown_timeout` bounds them.
   */
  async drain(service: string, releaseId: string, timeoutMs: number): Promise<{ drained: boolean; closed: number }> {
    const result = await this.waitForOldWorkers(timeoutMs);
    this.logger?.info({ service, release: releaseId, ...result }, 'nginx drain finished');
    return result;
  }

  /** The same wait as `drain`; ids never routed in this run resolve at once. */
  async drainUpstream(upstreamId: string, timeoutMs: number): Promise<{ drained: boolean; closed: number }> {
    if (!this.knownUpstreams.has(upstreamId)) return { drained: true, closed: 0 };
    // The instance left the rotation with a reload that may still be running: let it land first.
    await this.queue.idle();
    return this.waitForOldWorkers(timeoutMs);
  }

  /** Per-release counters from the access log; `inFlight` and `openUpgrades` are always 0 (see access-log-counters.ts). */
  counters(): ReleaseCounters[] {
    this.readAccessLog();
    return this.counterSet.snapshots();
  }

  latencySamples(service: string, releaseId: string): number[] {
    this.readAccessLog();
    return this.counterSet.latencySamples(service, releaseId);
  }

  /** Stops reading the log and waits for a running apply. nginx keeps running with the last applied config. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.logTimer);
    await this.queue.idle();
  }

  /** nginx is the team's and serves on whatever cutover does: letting go is closing. */
  detach(): Promise<void> {
    return this.close();
  }

  private render(routes: ServiceRoute[], generation: string, acmeHttp01 = this.pendingHttp01): string {
    return renderNginxConfig({ ...this.renderInput(routes), generation, acmeHttp01 });
  }

  private renderInput(routes: ServiceRoute[]): Omit<Parameters<typeof renderNginxConfig>[0], 'generation'> {
    return {
      routes,
      unhealthy: this.unhealthy,
      listen: this.options.listen,
      accessLogPath: this.accessLogPath,
      keepalive: this.options.keepalive ?? 32,
      https: this.options.https ?? null,
      redirectHttp: this.options.redirectHttp ?? false,
      filesDir: this.filesDir,
      trustedProxies: this.options.trustedProxies ?? [],
      ...(this.options.traffic === undefined ? {} : { traffic: this.options.traffic }),
    };
  }

  /**
   * True when nginx already serves exactly these routes: the last good file
   * renders them, byte for byte under its own generation, and nginx answers
   * that generation. A restarted controller giving back the routes nginx kept
   * then costs no reload, and so no reset of a kept-alive client connection.
   */
  private async alreadyServed(candidate: Map<string, ServiceRoute>, http01: Record<string, string>): Promise<boolean> {
    const served = generationOf(this.lastGoodText);
    if (served === null || this.render([...candidate.values()], served, http01) !== this.lastGoodText) return false;
    const answered = await waitForGeneration(this.options.listen, served, performance.now() + 1_000);
    return answered.ok;
  }

  /**
   * One apply: render → write → `nginx -t` → reload → verify. Takes the
   * pending routes before its first await, so what a caller set before the
   * apply started is in it, and what comes later waits for the next one.
   */
  private async applyOnce(): Promise<void> {
    const batch = this.pending;
    this.pending = new Map();
    const http01 = this.pendingHttp01;
    const candidate = new Map([...this.committed, ...batch]);
    const files = filesForRoutes(this.filesDir, candidate.values());
    // New names only (content hashes): the files the last good config points at are never touched here.
    writeNginxFiles(this.filesDir, files);
    if (await this.alreadyServed(candidate, http01)) {
      for (const route of candidate.values()) this.track(route);
      this.committed = candidate;
      this.logger?.info({ services: [...batch.keys()] }, 'nginx already serves these routes: no reload');
      return;
    }
    const generation = `${this.runId}-${++this.applies}`;
    const text = this.render([...candidate.values()], generation, http01);
    const started = performance.now();
    const log = this.logger?.child({ generation, services: [...batch.keys()] });

    writeFileAtomic(this.options.includeFile, text);
    const test = await runNginx(this.command, ['-t', '-q']);
    if (test.code === NGINX_NOT_RUNNABLE) {
      writeFileAtomic(this.options.includeFile, this.lastGoodText);
      throw new CutoverError(
        'ROUTER_UNAVAILABLE',
        `cannot run ${this.command.binary}: ${nginxErrorLine(test.stderr)}`,
        { hint: 'Install nginx, or point server.nginx.binary at it.' },
      );
    }
    if (test.code !== 0) {
      writeFileAtomic(this.options.includeFile, this.lastGoodText);
      const reason = nginxErrorLine(test.stderr);
      log?.error({ reason }, 'nginx -t refused the config; the last good one was put back');
      throw new CutoverError(
        'ROUTER_CONFIG_REJECTED',
        `nginx -t -c ${this.options.mainConfig} refused the config: ${reason}`,
        { details: { generation } },
      );
    }
    if (runningMasterPid(this.pidFile) === null) {
      writeFileAtomic(this.options.includeFile, this.lastGoodText);
      throw new CutoverError(
        'ROUTER_UNAVAILABLE',
        `nginx is not running with main config ${this.options.mainConfig} (pid file ${this.pidFile})`,
      );
    }
    // Tracked before the reload: the new config logs from its first request on.
    for (const route of candidate.values()) this.track(route);
    const tested = performance.now();
    const failure = await this.reloadAndVerify(generation, started + (this.options.verifyTimeoutMs ?? 5_000));
    if (failure !== null) {
      const restored = await this.restoreLastGood();
      log?.error({ reason: failure, restored }, 'nginx apply failed; the last good config was put back');
      throw new CutoverError('ROUTER_APPLY_FAILED', `${failure}; ${restored}`, { details: { generation } });
    }

    this.committed = candidate;
    this.lastGoodText = text;
    fs.writeFileSync(this.lastGoodPath, text, { mode: PRIVATE_FILE_MODE });
    pruneNginxFiles(this.filesDir, files);
    const done = performance.now();
    log?.info(
      { ms: Math.round(done - started), testMs: Math.round(tested - started), reloadMs: Math.round(done - tested) },
      'nginx config applied',
    );
  }

  /**
   * `nginx -s reload`, then waits until the reload took effect: every
   * worker that served before the reload took its graceful stop (and no
   * more workers accept than one generation has), then a new connection
   * gets `generation` (when the file has one). The first part matters: the
   * master starts the new workers and only 100 ms later tells the old ones
   * to stop, and until then they accept new connections with the old
   * routes. Once stopping, a worker accepts nothing and has closed its idle
   * connections. Null when all happened by `deadline`, else why not.
   */
  private async reloadAndVerify(generation: string | null, deadline: number): Promise<string | null> {
    const masterPid = runningMasterPid(this.pidFile);
    if (masterPid === null) return `nginx is not running (no live master in ${this.pidFile})`;
    const previousWorkers = workerProcesses(masterPid)
      .filter((worker) => !worker.shuttingDown)
      .map((worker) => worker.pid);
    const reload = await runNginx(this.command, ['-s', 'reload']);
    if (reload.code !== 0) return `nginx -s reload failed: ${nginxErrorLine(reload.stderr)}`;
    for (;;) {
      const current = new Map(workerProcesses(masterPid).map((worker) => [worker.pid, worker.shuttingDown]));
      const stillServing = previousWorkers.filter((pid) => current.get(pid) === false);
      // More accepting workers than one generation has means an earlier reload's workers (one the master
      // took between our snapshot and our signal, e.g. the failed apply a restore follows) still accept.
      const accepting = [...current.values()].filter((shuttingDown) => !shuttingDown).length;
      const extra = previousWorkers.length > 0 && accepting > previousWorkers.length;
      if (stillServing.length === 0 && !extra) break;
      if (performance.now() >= deadline) {
        return stillServing.length > 0
          ? `workers ${stillServing.join(', ')} of the previous config did not stop accepting in time`
          : `workers of an earlier config still accept (${accepting} accepting, ${previousWorkers.length} expected)`;
      }
      await delay(10);
    }
    // Asked only now: while old workers still accepted, one of them could answer (a restore's generation is theirs).
    if (generation !== null) {
      const answered = await waitForGeneration(this.options.listen, generation, deadline);
      if (!answered.ok)
        return `nginx did not serve generation ${generation} within ${this.options.verifyTimeoutMs ?? 5_000} ms (last answer: ${answered.lastSeen})`;
    }
    return null;
  }

  /**
   * Puts the last good file back and reloads it the same verified way, so a
   * rejection really means the previous routes serve. Gets at least 5 s
   * whatever verifyTimeoutMs says: this is the way back, not the change
   * being tried.
   */
  private async restoreLastGood(): Promise<string> {
    writeFileAtomic(this.options.includeFile, this.lastGoodText);
    const generation = generationOf(this.lastGoodText);
    const failure = await this.reloadAndVerify(
      generation,
      performance.now() + Math.max(this.options.verifyTimeoutMs ?? 5_000, 5_000),
    );
    if (failure !== null) return `restoring the last good config failed too: ${failure}`;
    return generation === null
      ? 'the last good config was restored and serves'
      : `the last good config (generation ${generation}) was restored and serves`;
  }

  private track(route: ServiceRoute): void {
    for (const target of [route.target, route.canary?.target ?? null]) {
      if (target === null) continue;
      this.counterSet.track(upstreamName(route.service, target.releaseId), route.service, target.releaseId);
      for (const upstream of target.upstreams) this.knownUpstreams.add(upstream.id);
    }
  }

  private routesUpstream(upstreamId: string): boolean {
    for (const routes of [this.committed, this.pending]) {
      for (const route of routes.values()) {
        if (route.target?.upstreams.some((u) => u.id === upstreamId) === true) return true;
        if (route.canary?.target.upstreams.some((u) => u.id === upstreamId) === true) return true;
      }
    }
    return false;
  }

  private async waitForOldWorkers(timeoutMs: number): Promise<{ drained: boolean; closed: number }> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const masterPid = runningMasterPid(this.pidFile);
      const old = masterPid === null ? 0 : workerProcesses(masterPid).filter((worker) => worker.shuttingDown).length;
      if (old === 0) return { drained: true, closed: 0 };
      if (performance.now() >= deadline) return { drained: false, closed: old };
      await delay(Math.min(DRAIN_POLL_MS, Math.max(1, deadline - performance.now())));
    }
  }

  private readAccessLog(): void {
    try {
      this.counterSet.ingest(this.tail.readLines());
    } catch (error) {
      this.logger?.warn({ err: error, file: this.accessLogPath }, 'could not read the nginx access log');
    }
  }
}

/** The generation a rendered file answers (from its header line), or null for a file cutover did not render. */
function generationOf(text: string): string | null {
  return GENERATION_LINE.exec(text)?.[1] ?? null;
}

/** Write-then-rename in the same directory: nginx -t or a reload never reads a half-written file. */
function writeFileAtomic(file: string, text: string): void {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  fs.writeFileSync(temp, text);
  fs.renameSync(temp, file);
}
